// Every chart of a run, defined once for the lab (live uPlot charts) and the report (SVG and PNG files):
// what a chart draws, its title, its axis labels with units, log or linear, and what a compared run adds.
// A Figure is a definition applied to runs: plain data (x, series with colours and values, catapult markers)
// that each renderer draws the same way (src/charts/svg.ts, src/app/charts.ts).
import { scaleLinear } from 'd3-scale';
import type { TrainConfig } from '../run/train-config.ts';
import type { ChartDef as BaseChartDef, SeriesDef as BaseSeriesDef } from '../track/chart.ts';
import type { EvalRecord } from '../track/record.ts';
import { PROBE_CHARTS, type StepRecord } from '../track/registry.ts';
import { toleranceOf } from '../run/convergence.ts';

/** A run as the charts see it: its records, a short name and the one colour it has on every chart. */
export interface ChartRun {
  name: string;
  color: string;
  config: Pick<TrainConfig, 'tracking'>;
  records: StepRecord[];
  evals: EvalRecord[];
  /** n of the tracked set, for η·λ/n and the critical line n/η. */
  trackedExamples?: number;
  /** Steps of the catapult spikes' peaks. */
  spikes: number[];
  /** The step a diverged or lost run ended at. */
  end?: { step: number; label: string };
}

/** undefined: not measured at this step (a line runs on across it); null: a gap (a diverged loss, a log axis's non-positive value). */
export type Value = number | null | undefined;

type SeriesDef = BaseSeriesDef<StepRecord, ChartRun>;

/** A chart definition over a run's records. */
export type ChartDef = BaseChartDef<StepRecord, ChartRun>;

export interface FigureSeries {
  label: string;
  color: string;
  dash?: number[];
  /** Points only (unconverged eigenvalues, the spectrum's Ritz values), hollow where `hollow`. */
  points: boolean;
  hollow: boolean;
  /** The raw values under a smoothed line: drawn faint, left out of the legend. */
  faint: boolean;
  values: Value[];
  /** The last value measured (the raw one, for a smoothed line), for the legend; null where there is none. */
  final: number | null;
  /** Sweeps: the least and largest value over seeds at each x. */
  band?: { lo: Value[]; hi: Value[] };
}

export interface Figure {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  log: boolean;
  x: number[];
  series: FigureSeries[];
  /**
   * Catapult peaks of every run drawn, as lines in MARKER_COLOR; where runs are compared each has a cap in
   * its run's colour, so the line says whose catapult it is.
   */
  markers: { step: number; run: string; cap?: string }[];
  ends: { step: number; label: string }[];
}

/** Run colours: no red, which is the catapult markers' alone. */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];
export const MARKER_COLOR = '#d62728';
/** The critical lines' colour; one run's other series take the palette without it. */
export const CRITICAL_COLOR = '#ff7f0e';
const SERIES_PALETTE = PALETTE.filter((c) => c !== CRITICAL_COLOR);
/** The spectrum's ramp from λ_1 to λ_k: purple to teal, apart from the palette's first colours and the marker red; mid-tones that read on white and on the dark theme. */
const RAMP = ['#9b59b6', '#1b9e77'];

const top = (run: ChartRun) => run.config.tracking?.spectrum?.top;
const n = (run: ChartRun) => run.trackedExamples;
/** n/η, the line the tracked set's eigenvalues cross when the rate becomes supercritical for them. */
const criticalLine = (r: StepRecord, run: ChartRun) => (n(run) && r.lr > 0 && (r.lambda !== undefined || r.eigenvalues) ? n(run)! / r.lr : undefined);
const topCount = (run: ChartRun) => Math.max(0, ...run.records.map((r) => r.eigenvalues?.length ?? 0));
/** One series per tracked top eigenvalue λ_1 … λ_k of the run, on the spectrum's ramp. */
const eachEigenvalue = (run: ChartRun, series: (i: number) => Omit<SeriesDef, 'label' | 'ramp'>): SeriesDef[] =>
  Array.from({ length: topCount(run) }, (_, i) => ({ label: `λ_${i + 1}`, ramp: true, ...series(i) }));

/** Where a diverged or lost run stopped: its last recorded step, marked on every chart. */
export const runEnd = (status: string, records: StepRecord[]): ChartRun['end'] =>
  (status === 'diverged' || status === 'lost') && records.length > 0 ? { step: records[records.length - 1].step, label: status } : undefined;

export const CHARTS: ChartDef[] = [
  {
    id: 'loss',
    title: 'Training loss, and its split into the top eigenspace of the tracked set’s NTK and the rest',
    yLabel: 'loss (MSE)',
    log: true,
    source: 'steps',
    series: (run) => [
      { label: 'batch loss', step: (r) => r.loss, smooth: true, compare: true },
      { label: 'tracked-set loss', step: (r) => r.setLoss, smooth: true },
      { label: `L≤${top(run) ?? 1}`, step: (r) => r.lossTopS ?? r.lossTop, smooth: true },
      { label: `L>${top(run) ?? 1}`, step: (r) => r.lossRestS ?? r.lossRest, smooth: true },
    ],
  },
  {
    id: 'spectrum',
    title: 'Top eigenvalues λ_1 … λ_k of the tracked set’s NTK, and the critical line n/η (λ above it: the rate is supercritical for that direction)',
    yLabel: 'eigenvalue of K',
    log: true,
    source: 'steps',
    series: (run) => [
      ...eachEigenvalue(run, (i) => ({ step: (r) => r.eigenvalues?.[i], residual: (r) => r.eigenvalueResiduals?.[i], compare: i === 0 })),
      { label: 'n/η', step: (r) => (r.eigenvalues ? criticalLine(r, run) : undefined), dash: [6, 4], compare: true, critical: true },
    ],
  },
  {
    id: 'spectrum-points',
    title: 'The whole tracked spectrum against the critical rate: η·λ_i/n for every Ritz value (top k and λ_min); above 1, a direction the rate makes unstable',
    yLabel: 'η·λ_i/n (1 = critical)',
    log: true,
    source: 'steps',
    series: (run) => [
      ...eachEigenvalue(run, (i) => ({ step: (r) => (r.eigenvalues?.[i] !== undefined && n(run) ? (r.lr * r.eigenvalues[i]) / n(run)! : undefined), points: true, compare: true })),
      { label: 'λ_min', step: (r) => (r.lambdaMin !== undefined && n(run) ? (r.lr * r.lambdaMin) / n(run)! : undefined), points: true, compare: true },
      { label: '1', step: (r) => (r.eigenvalues ? 1 : undefined), dash: [6, 4], critical: true },
    ],
  },
  {
    id: 'lambda',
    title: 'λ_max of the tracked set’s NTK, with n/η (catapult when λ_max is above it), and λ_min',
    yLabel: 'eigenvalue of K',
    log: true,
    source: 'steps',
    series: (run) => [
      { label: 'λ_max', step: (r) => r.lambda, residual: (r) => r.lambdaResidual, compare: true },
      { label: 'n/η', step: (r) => criticalLine(r, run), dash: [6, 4], critical: true },
      { label: 'λ_min', step: (r) => r.lambdaMin, residual: (r) => r.lambdaMinResidual },
    ],
  },
  {
    id: 'stability',
    title: 'η·λ_max/n against 1: above the line, the rate exceeds the tracked set’s critical rate',
    yLabel: 'η·λ_max/n (1 = critical)',
    log: true,
    source: 'steps',
    series: (run) => [
      { label: 'η·λ_max/n', step: (r) => (r.lambda !== undefined && n(run) ? (r.lr * r.lambda) / n(run)! : undefined), compare: true },
      { label: '1', step: (r) => (r.lambda !== undefined ? 1 : undefined), dash: [6, 4], critical: true },
    ],
  },
  {
    id: 'eta',
    title: 'η against the critical rate of each step’s batch',
    yLabel: 'learning rate',
    log: true,
    source: 'steps',
    series: () => [
      { label: 'η', step: (r) => (r.etaCrit !== undefined || r.etaCritHessian !== undefined || r.etaCritPreconditioned !== undefined ? r.lr : undefined) },
      { label: 'η_crit(batch) = b/λ_max(K_batch)', step: (r) => r.etaCrit, residual: (r) => r.lambdaBatchResidual, compare: true },
      { label: 'η_crit^P(batch) = b/λ_max(J·P·Jᵀ)', step: (r) => r.etaCritPreconditioned, residual: (r) => r.lambdaPreconditionedResidual, dash: [2, 3] },
      { label: '2/λ_max(H)', step: (r) => r.etaCritHessian, residual: (r) => r.lambdaHessianResidual, dash: [6, 4] },
    ],
  },
  {
    id: 'schedule',
    title: 'Learning-rate schedule',
    yLabel: 'learning rate η',
    log: false,
    source: 'steps',
    series: () => [{ label: 'η', step: (r) => r.lr, compare: true }],
  },
  // Each probe's charts of its own (src/track/probes/).
  ...PROBE_CHARTS,
  {
    id: 'test',
    title: 'Evaluation loss (whole training set, validation, test)',
    yLabel: 'loss (MSE)',
    log: true,
    source: 'evals',
    series: () => [
      { label: 'train loss', evaluation: (e) => e.trainLoss },
      { label: 'validation loss', evaluation: (e) => e.valLoss },
      { label: 'test loss', evaluation: (e) => e.testLoss, compare: true },
    ],
  },
  {
    id: 'accuracy',
    title: 'Evaluation accuracy',
    yLabel: 'accuracy (fraction correct)',
    log: false,
    source: 'evals',
    series: () => [
      { label: 'train', evaluation: (e) => e.trainAccuracy },
      { label: 'validation', evaluation: (e) => e.valAccuracy },
      { label: 'test', evaluation: (e) => e.testAccuracy, compare: true },
    ],
  },
];

export const chartDef = (id: string): ChartDef => {
  const def = CHARTS.find((c) => c.id === id);
  if (!def) throw new RangeError(`no chart "${id}" (charts: ${CHARTS.map((c) => c.id).join(', ')})`);
  return def;
};

/**
 * TensorBoard's smoothing: an exponential moving average with weight w in [0, 1), debiased so the first
 * values are not pulled towards 0. Gaps (null) and unmeasured steps (undefined) stay as they are.
 */
export function smoothed(values: Value[], w: number): Value[] {
  if (!(w > 0)) return values.slice();
  let last = 0;
  let k = 0;
  return values.map((v) => {
    if (typeof v !== 'number') return v;
    last = w * last + (1 - w) * v;
    k++;
    return last / (1 - w ** k);
  });
}

const lastNumber = (values: Value[]): number | null => {
  for (let i = values.length - 1; i >= 0; i--) if (typeof values[i] === 'number') return values[i] as number;
  return null;
};

/**
 * The chart `def` applied to runs: with one run, each of its series in its own colour; with several, each
 * run in its colour with the series marked `compare`, named by run. `smoothing` is the EMA weight (0: none).
 * Returns null where no run has a value to draw.
 */
export function figureOf(def: ChartDef, runs: ChartRun[], options: { smoothing?: number } = {}): Figure | null {
  const xs = new Set<number>();
  for (const run of runs) for (const p of def.source === 'steps' ? run.records : run.evals) xs.add(p.step);
  const x = [...xs].sort((a, b) => a - b);
  const at = new Map(x.map((s, i) => [s, i]));
  const clean = (v: number | undefined): Value => (v === undefined ? undefined : !Number.isFinite(v) || (def.log && v <= 0) ? null : v);
  const comparing = runs.length > 1;
  const series: FigureSeries[] = [];
  for (const run of runs) {
    const defs = def.series(run).filter((s) => !comparing || s.compare);
    const ramped = defs.filter((s) => s.ramp);
    const ramp = scaleLinear<string>().domain([0, Math.max(1, ramped.length - 1)]).range(RAMP);
    const tolerance = toleranceOf(run.config);
    let paletteIndex = 0;
    for (const s of defs) {
      const values: Value[] = new Array(x.length).fill(undefined);
      const unconverged: Value[] = new Array(x.length).fill(undefined);
      if (def.source === 'steps') {
        for (const r of run.records) {
          const v = clean(s.step!(r, run));
          const residual = s.residual?.(r);
          if (residual !== undefined && !(residual <= tolerance)) unconverged[at.get(r.step)!] = v;
          else values[at.get(r.step)!] = v;
        }
      } else for (const e of run.evals) values[at.get(e.step)!] = clean(s.evaluation!(e));
      const has = (col: Value[]) => col.some((v) => typeof v === 'number');
      if (!has(values) && !has(unconverged)) continue;
      const color = comparing ? run.color : s.ramp ? ramp(ramped.indexOf(s)) : s.critical ? CRITICAL_COLOR : SERIES_PALETTE[paletteIndex++ % SERIES_PALETTE.length];
      const label = comparing ? `${s.label} · ${run.name}` : s.label;
      const w = s.smooth && def.source === 'steps' ? (options.smoothing ?? 0) : 0;
      if (w > 0) series.push({ label: `${label} (raw)`, color, dash: s.dash, points: false, hollow: false, faint: true, values, final: lastNumber(values) });
      series.push({ label, color, dash: s.dash, points: Boolean(s.points), hollow: false, faint: false, values: w > 0 ? smoothed(values, w) : values, final: lastNumber(values) });
      if (has(unconverged)) series.push({ label: `${label} (not converged)`, color, points: true, hollow: true, faint: false, values: unconverged, final: lastNumber(unconverged) });
    }
  }
  if (series.length === 0) return null;
  return {
    id: def.id,
    title: def.title,
    xLabel: 'training step',
    yLabel: def.yLabel,
    log: def.log,
    x,
    series,
    markers: runs.flatMap((run) => run.spikes.map((step) => ({ step, run: run.name, ...(comparing ? { cap: run.color } : {}) }))),
    ends: runs.flatMap((run) => (run.end ? [{ step: run.end.step, label: comparing ? `${run.end.label} · ${run.name}` : run.end.label }] : [])),
  };
}

/** Every chart with something to draw, in CHARTS's order. */
export const figuresOf = (runs: ChartRun[], options: { smoothing?: number } = {}): Figure[] =>
  CHARTS.map((def) => figureOf(def, runs, options)).filter((f): f is Figure => f !== null);

/** A sweep's curve: a combination's mean over its seeds at each step, with the least and largest seed. */
export interface SweepCurve {
  label: string;
  seeds: number;
  mean: (number | null)[];
  lo: (number | null)[];
  hi: (number | null)[];
}

/** A sweep's chart: each combination's mean over seeds in its colour, banded from the least to the largest seed. */
export function sweepFigure(id: string, title: string, yLabel: string, curves: SweepCurve[]): Figure | null {
  const steps = Math.max(0, ...curves.map((c) => c.mean.length));
  const clean = (v: number | null | undefined): Value => (v === null || v === undefined || !Number.isFinite(v) || v <= 0 ? null : v);
  const series = curves
    .filter((c) => c.mean.some((v) => v !== null))
    .map((c, i): FigureSeries => {
      const values = Array.from({ length: steps }, (_, s) => clean(c.mean[s]));
      return {
        label: `${c.label} (${c.seeds} seed${c.seeds > 1 ? 's' : ''})`,
        color: PALETTE[i % PALETTE.length],
        points: false,
        hollow: false,
        faint: false,
        values,
        final: lastNumber(values),
        ...(c.seeds > 1 ? { band: { lo: Array.from({ length: steps }, (_, s) => clean(c.lo[s])), hi: Array.from({ length: steps }, (_, s) => clean(c.hi[s])) } } : {}),
      };
    });
  if (series.length === 0) return null;
  return { id, title, xLabel: 'training step', yLabel, log: true, x: Array.from({ length: steps }, (_, s) => s), series, markers: [], ends: [] };
}

/** A value as the legends print it: 4 significant digits, exponents outside [1e-3, 1e5). */
export function legendValue(v: number | null): string {
  if (v === null) return 'none';
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : String(+v.toPrecision(4));
}

/** A figure's legend: its series (not the faint raw ones) with their final values, then the markers. */
export interface LegendEntry {
  label: string;
  color: string;
  dash?: number[];
  kind: 'line' | 'points' | 'hollow' | 'marker' | 'end';
  value: string;
}

export function legendEntries(f: Figure): LegendEntry[] {
  const entries: LegendEntry[] = f.series
    .filter((s) => !s.faint)
    .map((s) => ({ label: s.label, color: s.color, dash: s.dash, kind: s.hollow ? 'hollow' : s.points ? 'points' : 'line', value: `final ${legendValue(s.final)}` }));
  const byRun = new Map<string, number[]>();
  for (const m of f.markers) byRun.set(m.run, [...(byRun.get(m.run) ?? []), m.step]);
  for (const [run, steps] of byRun) {
    const named = f.markers.some((m) => m.cap !== undefined);
    entries.push({ label: `catapult peak${steps.length > 1 ? 's' : ''}${named ? ` · ${run}` : ''}`, color: MARKER_COLOR, dash: [4, 4], kind: 'marker', value: `step${steps.length > 1 ? 's' : ''} ${steps.join(', ')}` });
  }
  for (const e of f.ends) entries.push({ label: e.label, color: '#555555', kind: 'end', value: `at step ${e.step}` });
  return entries;
}
