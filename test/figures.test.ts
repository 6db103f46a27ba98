// The charts' one definition (src/charts/figure.ts) and its SVG renderer (src/charts/svg.ts), on hand-made
// records: which series a chart holds for one run and for compared runs, the colours, the smoothing (TensorBoard's
// debiased EMA, raw kept), convergence split, final values in the legend, markers in their own colour, and
// an SVG that holds every series and the legend, with hostile labels escaped.
import { describe, expect, it } from 'vitest';
import { chartDef, CHARTS, CRITICAL_COLOR, figureOf, legendEntries, MARKER_COLOR, PALETTE, smoothed, sweepFigure, type ChartRun } from '../src/charts/figure.ts';
import { figureSvg } from '../src/charts/svg.ts';
import { configDifferences, runColor, shortName, sortRows } from '../src/app/compare.ts';
import type { StepRecord } from '../src/run/train.ts';

const K = 4;
/** Steps 0..9 of a run tracking its top-4 spectrum on 128 examples; a spike at step 4. */
function run(name: string, color: string, scale = 1): ChartRun {
  const records: StepRecord[] = Array.from({ length: 10 }, (_, t) => ({
    step: t,
    lr: 0.5,
    loss: scale * (t === 4 ? 10 : 1 / (t + 1)),
    lambda: 300 - t,
    lambdaResidual: t === 7 ? 0.5 : 1e-6,
    lambdaMin: 0.1,
    eigenvalues: Array.from({ length: K }, (_, i) => (300 - t) / (i + 1)),
    eigenvalueResiduals: Array.from({ length: K }, (_, i) => (i === K - 1 && t === 2 ? 0.1 : 1e-7)),
  }));
  return { name, color, config: { tracking: { set: { examples: 128 }, spectrum: { top: K } } } as ChartRun['config'], records, evals: [{ step: 9, trainLoss: 0.1, testLoss: 0.2 }], trackedExamples: 128, spikes: [4] };
}

describe('figures from the chart definitions', () => {
  it('the spectrum chart holds λ_1 … λ_k and the critical line n/η; an unconverged λ_k is drawn apart as hollow points', () => {
    const f = figureOf(chartDef('spectrum'), [run('a', PALETTE[0])])!;
    expect(f.series.map((s) => s.label)).toEqual(['λ_1', 'λ_2', 'λ_3', 'λ_4', 'λ_4 (not converged)', 'n/η']);
    expect(f.series[0].values).toEqual(Array.from({ length: 10 }, (_, t) => 300 - t));
    expect(f.series[5].values).toEqual(new Array(10).fill(128 / 0.5));
    // λ_4 at step 2 had residual 0.1 > 1e-3: a gap in its line, a hollow point in its own series, one colour.
    expect(f.series[3].values[2]).toBeUndefined();
    expect(f.series[4]).toMatchObject({ points: true, hollow: true, color: f.series[3].color });
    expect(f.series[4].values.filter((v) => v !== undefined)).toEqual([298 / 4]);
    // The ramp gives λ_1 … λ_k distinct colours, none of them the markers' red.
    expect(new Set(f.series.slice(0, 4).map((s) => s.color)).size).toBe(4);
    expect(f.series.map((s) => s.color)).not.toContain(MARKER_COLOR);
    // The critical line is the one orange of every chart; no other series of one run takes it.
    expect(f.series[5].color).toBe(CRITICAL_COLOR);
    for (const id of ['lambda', 'stability', 'spectrum-points', 'loss']) {
      const g = figureOf(chartDef(id), [run('a', PALETTE[0])])!;
      for (const s of g.series) expect(s.color === CRITICAL_COLOR, `${id}: ${s.label}`).toBe(s.label === 'n/η' || s.label === '1');
    }
  });

  it('the spectrum as points: η·λ_i/n of every Ritz value and λ_min, against 1', () => {
    const f = figureOf(chartDef('spectrum-points'), [run('a', PALETTE[0])])!;
    expect(f.series.map((s) => s.label)).toEqual(['λ_1', 'λ_2', 'λ_3', 'λ_4', 'λ_min', '1']);
    expect(f.series[0].values[0]).toBeCloseTo((0.5 * 300) / 128, 12);
    expect(f.series.slice(0, 5).every((s) => s.points)).toBe(true);
  });

  it('one run: each series its own palette colour; compared runs: each run its colour on every chart, series named by run', () => {
    const one = figureOf(chartDef('loss'), [run('a', '#111111')])!;
    expect(one.series.map((s) => s.color)).toEqual([PALETTE[0]]);
    const a = run('#1 a s0', runColor(1));
    const b = run('#2 b s0', runColor(2), 2);
    for (const id of ['loss', 'lambda', 'spectrum', 'stability']) {
      const f = figureOf(chartDef(id), [a, b])!;
      const colors = new Map(f.series.map((s) => [s.label, s.color]));
      for (const [label, color] of colors) expect(color, `${id}: ${label}`).toBe(label.includes('#1 a') ? runColor(1) : runColor(2));
    }
    expect(figureOf(chartDef('loss'), [a, b])!.series.map((s) => s.label)).toEqual(['batch loss · #1 a s0', 'batch loss · #2 b s0']);
    // Both runs' catapults are marked, each with its run's colour as a cap; the line stays the marker red.
    const f = figureOf(chartDef('loss'), [a, b])!;
    expect(f.markers).toEqual([{ step: 4, run: '#1 a s0', cap: runColor(1) }, { step: 4, run: '#2 b s0', cap: runColor(2) }]);
    expect(legendEntries(f).filter((e) => e.kind === 'marker').map((e) => [e.label, e.color])).toEqual([['catapult peak · #1 a s0', MARKER_COLOR], ['catapult peak · #2 b s0', MARKER_COLOR]]);
    expect(runColor(1 + PALETTE.length)).toBe(runColor(1));
    expect(PALETTE).not.toContain(MARKER_COLOR);
  });

  it('smoothing is the debiased EMA of the raw values; the raw line stays, faint, and the legend shows the raw final value', () => {
    expect(smoothed([1, 2, null, undefined, 4], 0)).toEqual([1, 2, null, undefined, 4]);
    const s = smoothed([1, 3, null, 5], 0.5);
    expect(s[0]).toBeCloseTo(1, 15);
    expect(s[1]).toBeCloseTo((0.5 * 0.5 * 1 + 0.5 * 3) / (1 - 0.25), 15);
    expect(s[2]).toBeNull();
    expect(s[3]).toBeCloseTo((0.5 * (0.25 * 1 + 0.5 * 3) + 0.5 * 5) / (1 - 0.125), 15);
    const f = figureOf(chartDef('loss'), [run('a', PALETTE[0])], { smoothing: 0.9 })!;
    expect(f.series.map((x) => [x.label, x.faint])).toEqual([['batch loss (raw)', true], ['batch loss', false]]);
    const raw = f.series[0].values as number[];
    expect(raw[4]).toBe(10); // the spike is in the raw values as recorded
    expect((f.series[1].values[4] as number) < 10).toBe(true);
    expect(f.series[1].final).toBe(raw[9]);
    expect(legendEntries(f).map((e) => e.label)).toEqual(['batch loss', 'catapult peak']);
    // Smoothing never touches a chart of eigenvalues.
    expect(figureOf(chartDef('lambda'), [run('a', PALETTE[0])], { smoothing: 0.9 })!.series.some((x) => x.faint)).toBe(false);
  });

  it('a log axis turns non-positive and non-finite values into gaps; a chart with no values is no figure', () => {
    const r = run('a', PALETTE[0]);
    r.records[3].loss = Number.POSITIVE_INFINITY;
    r.records[5].loss = 0;
    const f = figureOf(chartDef('loss'), [r])!;
    expect(f.series[0].values[3]).toBeNull();
    expect(f.series[0].values[5]).toBeNull();
    expect(figureOf(chartDef('adagrad'), [r])).toBeNull();
    expect(() => chartDef('nope')).toThrow(/no chart "nope" \(charts: loss, spectrum/);
    expect(new Set(CHARTS.map((c) => c.id)).size).toBe(CHARTS.length);
  });
});

describe('SVG figures', () => {
  it('hold every series, a legend with final values (never "--"), axis labels, the title and the markers', () => {
    const f = figureOf(chartDef('spectrum'), [run('a', PALETTE[0])])!;
    const svg = figureSvg(f);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    const labels = [...svg.matchAll(/<g class="series" data-label="([^"]*)">/g)].map((m) => m[1]);
    expect(labels).toEqual(f.series.map((s) => s.label));
    const legend = [...svg.matchAll(/<text class="legend-entry"[^>]*>([^<]*) <tspan[^>]*>([^<]*)<\/tspan>/g)].map((m) => [m[1], m[2]]);
    expect(legend).toEqual([
      ['λ_1', 'final 291'],
      ['λ_2', 'final 145.5'],
      ['λ_3', 'final 97'],
      ['λ_4', 'final 72.75'],
      ['λ_4 (not converged)', 'final 74.5'],
      ['n/η', 'final 256'],
      ['catapult peak', 'step 4'],
    ]);
    expect(svg).not.toContain('--<');
    expect(svg).toContain('>training step</text>');
    expect(svg).toContain('>eigenvalue of K</text>');
    expect(svg).toContain(`stroke="${MARKER_COLOR}"`);
    expect(svg.match(/class="marker"/g)).toHaveLength(1);
    // Paths: one per line series with values, hollow circles for the unconverged point.
    const plot = svg.slice(0, svg.indexOf('<g class="legend">'));
    expect(plot.match(/<path d="M/g)).toHaveLength(5);
    expect(plot.match(/<circle cx/g)).toHaveLength(1);
  });

  it('escape every label (a run name from a file is text, not markup); a sweep band is drawn between its least and largest', () => {
    const hostile = run('<script>alert(1)</script>"&', PALETTE[0]);
    const b = run('b', PALETTE[1]);
    const svg = figureSvg(figureOf(chartDef('loss'), [hostile, b])!);
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&amp;');
    const sweep = sweepFigure('loss', 'sweep', 'loss', [{ label: 'lr=1', seeds: 2, mean: [1, 0.5], lo: [0.8, 0.4], hi: [1.2, 0.6] }, { label: 'lr=2', seeds: 1, mean: [2, 1], lo: [2, 1], hi: [2, 1] }])!;
    expect(sweep.series.map((s) => [s.label, Boolean(s.band)])).toEqual([['lr=1 (2 seeds)', true], ['lr=2 (1 seed)', false]]);
    expect(figureSvg(sweep).match(/class="band"/g)).toHaveLength(1);
  });
});

describe('comparing runs', () => {
  it('names runs short, lists the config values they differ in, and sorts numbers as numbers with empty cells last', () => {
    expect(shortName(3, 'gd-catapult', 1)).toBe('#3 gd-catapult s1');
    expect(shortName(4, 'optimizers', 0, 'adam')).toBe('#4 optimizers/adam s0');
    const d = configDifferences([
      { steps: 10, schedule: { lr: 1 }, model: { hidden: [64] }, seed: 0 },
      { steps: 10, schedule: { lr: 2 }, model: { hidden: [64] }, seed: 0 },
      { steps: 10, schedule: { lr: 2 }, model: { hidden: [64, 64] }, seed: 1, extra: true },
    ]);
    expect(d).toEqual([
      ['extra=—', 'model.hidden=[64]', 'schedule.lr=1', 'seed=0'],
      ['extra=—', 'model.hidden=[64]', 'schedule.lr=2', 'seed=0'],
      ['extra=true', 'model.hidden=[64,64]', 'schedule.lr=2', 'seed=1'],
    ]);
    expect(configDifferences([{ a: 1 }])).toEqual([[]]);
    const rows = [{ v: 10 }, { v: null }, { v: 9 }, { v: 100 }];
    expect(sortRows(rows, (r) => r.v, false).map((r) => r.v)).toEqual([9, 10, 100, null]);
    expect(sortRows(rows, (r) => r.v, true).map((r) => r.v)).toEqual([100, 10, 9, null]);
    expect(sortRows([{ v: 'run 10' }, { v: 'run 9' }], (r) => r.v, false).map((r) => r.v)).toEqual(['run 9', 'run 10']);
  });
});
