// The lab's host-neutral parts: URL state, the config editor's fields and checks, thinning for drawing,
// and run files (exports, command-line runs) read back.
import { describe, expect, it } from 'vitest';
import { checkLabConfig, configFields, fieldNamedIn } from '../src/app/config-fields.ts';
import { drawIndices } from '../src/app/downsample.ts';
import { labStateQuery, readLabState } from '../src/app/lab-state.ts';
import { readRunFiles, runCsv, runJson } from '../src/app/run-files.ts';
import type { LabRunData } from '../src/app/lab-run.ts';
import { metricsJsonLines, parseMetricsJsonl, recordsCsv } from '../src/run/export.ts';
import { resolvePreset } from '../src/run/presets.ts';
import type { StepRecord } from '../src/run/train.ts';

describe('lab URL state', () => {
  it('round-trips preset, scale, variant, seed and overrides (values with = and commas included)', () => {
    const state = { preset: 'optimizers', scale: 'paper' as const, variant: 'adam', seed: 42, set: [['schedule.lr', '0.5'], ['model.hidden', '64, 64'], ['data.images', 'a=b.gz']] as [string, string][] };
    expect(readLabState(labStateQuery(state))).toEqual({ state, problems: [] });
  });

  it('falls back to gd-catapult, quick and seed 0 for what is missing, and names each part of a link it did not take', () => {
    expect(readLabState('')).toEqual({ state: { preset: 'gd-catapult', scale: 'quick', seed: 0, set: [] }, problems: [] });
    const { state, problems } = readLabState('?preset=nope&scale=huge&seed=-1&set=steps&variant=__proto__&colour=red');
    expect(state).toEqual({ preset: 'gd-catapult', scale: 'quick', seed: 0, set: [] });
    expect(problems).toEqual([
      'unknown link parameter "colour" (a link takes preset, scale, variant, seed, set)',
      'preset "nope" is not one of the presets; showing gd-catapult',
      'scale "huge" is not one of quick, paper; showing quick',
      'seed "-1" is not a seed (an integer from 0 to 4294967295); using 0',
      'override "steps" is not key=value; left out',
      'variant "__proto__" is not a variant of gd-catapult (it has none); left out',
    ]);
    for (const seed of ['1e3', '4294967296', '0x10', ' 1']) expect(readLabState(`?seed=${encodeURIComponent(seed)}`).problems, seed).toHaveLength(1);
    expect(readLabState('?preset=cyclic-lr&variant=toString').problems[0]).toMatch(/variant "toString" is not a variant of cyclic-lr \(its variants: exp-cyclic\)/);
    expect(readLabState('?preset=cyclic-lr&variant=exp-cyclic').state.variant).toBe('exp-cyclic');
  });
});

describe('config editor', () => {
  it('lists every leaf of the config under its --set key, lists comma-separated', () => {
    const fields = configFields(resolvePreset('gd-catapults-generalization'));
    const byKey = Object.fromEntries(fields.map((f) => [f.key, f.text]));
    expect(byKey['data.task']).toBe('rank-2');
    expect(byKey['model.hidden']).toBe('256');
    expect(byKey['schedule.changes']).toBe('[[50,8],[150,16],[220,30],[280,50],[350,75],[400,80]]');
    expect(byKey['tracking.set.method']).toBe('matrix-free');
    expect(byKey.seed).toBeUndefined();
  });

  it('applies overrides and the seed, and names the field at fault with what is allowed', () => {
    const base = { preset: 'gd-catapult', scale: 'quick' as const, seed: 3, set: [] as [string, string][] };
    const ok = checkLabConfig({ ...base, set: [['steps', '12'], ['model.hidden', '64, 32']] });
    expect(ok.ok && ok.config.steps).toBe(12);
    expect(ok.ok && (ok.config.model as { hidden: number[] }).hidden).toEqual([64, 32]);
    expect(ok.ok && ok.config.seed).toBe(3);
    expect(checkLabConfig({ ...base, set: [['steps', '-3']] })).toMatchObject({ ok: false, key: 'steps', message: expect.stringMatching(/steps must be an integer >= 0/) });
    expect(checkLabConfig({ ...base, set: [['optimizer.name', 'lion']] })).toMatchObject({ ok: false, key: 'optimizer.name', message: expect.stringMatching(/one of gd, sgd/) });
    expect(checkLabConfig({ ...base, set: [['tracking.set.method', 'exact']] })).toMatchObject({ ok: false, key: 'tracking.set.method' });
    expect(checkLabConfig({ ...base, set: [['schedule.changes', '[[1,']] })).toMatchObject({ ok: false, key: 'schedule.changes', message: expect.stringMatching(/not valid JSON/) });
    expect(checkLabConfig({ ...base, seed: NaN })).toMatchObject({ ok: false, key: 'seed' });
  });

  it('matches a message to the longest key it names, not a key that merely contains it', () => {
    expect(fieldNamedIn('tracking.set.examples 500 is more than the 128 training examples', ['tracking.set', 'tracking.set.examples', 'examples'])).toBe('tracking.set.examples');
    expect(fieldNamedIn('evalEvery must be an integer >= 0', ['steps', 'evalEvery'])).toBe('evalEvery');
    expect(fieldNamedIn('nothing here', ['steps'])).toBeNull();
  });
});

describe('thinning for drawing', () => {
  it('keeps everything when short, and when long keeps each slice\'s extremes: a one-step spike survives', () => {
    expect(drawIndices(50, [[]], 100)).toHaveLength(50);
    const n = 100_000;
    const loss = Array.from({ length: n }, (_, i) => 1 + 0.01 * Math.sin(i));
    loss[73_457] = 1000;
    loss[12_345] = -5;
    const lambda = Array.from({ length: n }, (_, i) => (i % 10 === 0 ? 5 + i * 1e-5 : undefined));
    const keep = drawIndices(n, [loss, lambda], 400);
    expect(keep.length).toBeLessThan(400 * 6);
    expect(keep).toContain(73_457);
    expect(keep).toContain(12_345);
    expect(keep[0]).toBe(0);
    expect(keep[keep.length - 1]).toBe(n - 1);
    expect([...keep].sort((a, b) => a - b)).toEqual(keep);
  });

  it('keeps every gap (null) so a diverged tail draws as a gap', () => {
    const col = Array.from({ length: 10_000 }, (_, i) => (i >= 9_990 ? null : i));
    const keep = drawIndices(10_000, [col], 100);
    for (let i = 9_990; i < 10_000; i++) expect(keep).toContain(i);
  });
});

describe('run files', () => {
  const records: StepRecord[] = [
    { step: 0, lr: 2, loss: 1.5, lambda: 20, eigenvalues: [20, 3] },
    { step: 1, lr: 2, loss: 40, lambda: 19 },
    { step: 2, lr: 2, loss: 0.5, lambda: 6 },
  ];
  const evals = [{ step: 3, trainLoss: 0.4, testLoss: 0.9 }];

  it('metrics.jsonl and metrics.csv hold every record; jsonl reads back exactly', () => {
    expect(parseMetricsJsonl(metricsJsonLines(records, evals))).toEqual({ records, evals });
    const csv = recordsCsv(records).trim().split('\n');
    expect(csv[0]).toBe('step,lr,loss,lambda,eigenvalues_1,eigenvalues_2');
    expect(csv[1]).toBe('0,2,1.5,20,20,3');
    expect(csv[2]).toBe('1,2,40,19,,');
    // Not measured is an empty cell; NaN and the infinities are written as such.
    expect(recordsCsv([{ step: 0, lr: 1, loss: NaN, eigenvalues: [Infinity] }, { step: 1, lr: 1, loss: -Infinity }])).toBe('step,lr,loss,eigenvalues_1\n0,1,NaN,Infinity\n1,1,-Infinity,\n');
    expect(recordsCsv(evals)).toBe('step,trainLoss,testLoss\n3,0.4,0.9\n');
    expect(() => parseMetricsJsonl('{"type":"step","step":0,"lr":1,"loss":1}\nnot json\n')).toThrow(/line 2 is not JSON/);
    // A last line cut short (a run killed while writing it) is left out, and said so.
    expect(parseMetricsJsonl('{"type":"step","step":0,"lr":1,"loss":1}\n{"type":"st')).toEqual({ records: [{ step: 0, lr: 1, loss: 1 }], evals: [], cutLastLine: true });
  });

  it('NaN, +Infinity and -Infinity stay apart in metrics.jsonl and lab exports; null from older files reads as NaN', () => {
    const odd: StepRecord[] = [{ step: 0, lr: 1, loss: Infinity, lambda: NaN, eigenvalues: [-Infinity, 1] }];
    const text = metricsJsonLines(odd, []);
    expect(text).toBe('{"type":"step","step":0,"lr":1,"loss":"Infinity","lambda":"NaN","eigenvalues":["-Infinity",1]}\n');
    const back = parseMetricsJsonl(text).records[0];
    expect(back.loss).toBe(Infinity);
    expect(back.lambda).toBeNaN();
    expect(back.eigenvalues).toEqual([-Infinity, 1]);
    expect(parseMetricsJsonl('{"type":"step","step":0,"lr":1,"loss":null}').records[0].loss).toBeNaN();
    expect(() => parseMetricsJsonl('{"type":"step","step":0,"lr":1,"loss":"inf"}')).toThrow(/line 1: loss: must be a number \(or "NaN", "Infinity", "-Infinity"\)/);
    const config = resolvePreset('gd-catapult', { set: [['steps', 1]] });
    const run: LabRunData = { label: 'x', state: { preset: 'gd-catapult', scale: 'quick', seed: 0, set: [] }, config, adapter: 'a', records: odd, evals: [], status: 'diverged', trainSize: 128 };
    const [loaded] = readRunFiles([{ name: 'run.json', text: runJson(run) }]);
    expect(loaded.records[0].loss).toBe(Infinity);
    expect(loaded.records[0].eigenvalues).toEqual([-Infinity, 1]);
  });

  it('a lab export loads back as the same run; a command-line run needs its summary and metrics together', () => {
    const config = resolvePreset('gd-catapult', { set: [['steps', 3]] });
    const run: LabRunData = { label: 'x', state: { preset: 'gd-catapult', scale: 'quick', seed: 0, set: [['steps', '3']] }, config, adapter: 'a', records, evals, status: 'completed', trainSize: 128, trackedExamples: 128 };
    const [back] = readRunFiles([{ name: 'run.json', text: runJson(run) }]);
    expect(back.records).toEqual(records);
    expect(back.config).toEqual(config);
    expect(back.state).toEqual(run.state);
    expect(runCsv(run)).toBe(recordsCsv(records));

    const summary = JSON.stringify(cliSummary(config));
    const [cli] = readRunFiles([{ name: 'summary.json', text: summary }, { name: 'metrics.jsonl', text: metricsJsonLines(records, evals) }]);
    expect(cli.records).toEqual(records);
    expect(cli.summary!.spikes).toHaveLength(1);
    expect(cli.summary!.spikes[0]).toMatchObject({ peak: 1, lambdaDrop: 14 });
    expect(() => readRunFiles([{ name: 'metrics.jsonl', text: metricsJsonLines(records, evals) }])).toThrow(/summary.json and metrics.jsonl together/);
    expect(() => readRunFiles([{ name: 'x.json', text: '{"a":1}' }])).toThrow(/x.json is neither a lab export/);
  });

  it('refuses loaded files that do not hold what they say, naming the file and the field', () => {
    const config = resolvePreset('gd-catapult', { set: [['steps', 3]] });
    const run: LabRunData = { label: 'x', state: { preset: 'gd-catapult', scale: 'quick', seed: 0, set: [] }, config, adapter: 'a', records, evals, status: 'completed', trainSize: 128 };
    const good = JSON.parse(runJson(run));
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ records: [null] }, /run.json: records\[0\]: expected object, received null/],
      [{ records: [{ step: 0, lr: 1 }] }, /run.json: records\[0\].loss: must be a number/],
      [{ records: [{ step: -1, lr: 1, loss: 1 }] }, /records\[0\].step: Too small/],
      [{ records: [{ step: 0, lr: 1, loss: 1, note: '<b>x</b>' }] }, /records\[0\].note: must be a number or a list of numbers/],
      [{ evals: 'none' }, /run.json: evals: expected array, received string/],
      [{ seed: -1 }, /run.json: seed: Too small/],
      [{ scale: 'huge' }, /run.json: scale: /],
      [{ status: 'won' }, /run.json: status: /],
      [{ extra: 1 }, /run.json: unknown key "extra"/],
      [{ config: { ...config, steps: -2 } }, /run.json: its config is not valid: steps must be an integer >= 0/],
    ];
    for (const [change, message] of cases) expect(() => readRunFiles([{ name: 'run.json', text: JSON.stringify({ ...good, ...change }) }]), JSON.stringify(change)).toThrow(message);
    const metrics = { name: 'metrics.jsonl', text: metricsJsonLines(records, evals) };
    expect(() => readRunFiles([{ name: 'summary.json', text: JSON.stringify({ ...cliSummary(config), seed: 'x' }) }, metrics])).toThrow(/summary.json: seed: expected number/);
    expect(() => readRunFiles([{ name: 'summary.json', text: JSON.stringify(cliSummary(config)) }, { name: 'metrics.jsonl', text: '{"type":"step","step":"0"}\n' }])).toThrow(/metrics.jsonl line 1: step: expected number/);
  });
});

/** A summary.json as `catapult run` writes it. */
function cliSummary(config: unknown): Record<string, unknown> {
  return { preset: 'gd-catapult', paper: 'Fig. 2', summaryText: 's', variant: null, scale: 'quick', seed: 0, adapter: 'a', adapterInfo: {}, codeVersion: 'v', seconds: 1, status: 'completed', steps: 3, headline: {}, criticalSteps: [], spikes: [], notes: [], config };
}
