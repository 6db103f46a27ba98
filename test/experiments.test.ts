// Presets, headless runs, checkpoints, saved NTKs, sweeps and reports (issue 5), at the quick scale or
// smaller.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runExperiment } from '../src/cli/experiment.ts';
import { sweepCurves, sweepReportHtml } from '../src/cli/report.ts';
import { parseMetricsJsonl } from '../src/run/export.ts';
import { BatchOrder } from '../src/data/splits.ts';
import { decodeNpy, decodeSafetensors } from '../src/io/safetensors.ts';
import { buildNetwork } from '../src/nn/graph.ts';
import { ntkGraphRef } from '../src/ref/network.ts';
import { checkpointParams, decodeCheckpoint } from '../src/run/checkpoint.ts';
import { PRESETS, resolvePreset } from '../src/run/presets.ts';
import { partSeeds, validateTrainConfig } from '../src/run/train.ts';
import { releaseTestGpu, testGpu } from './gpu.ts';
import { relErr, U } from './numeric.ts';

afterAll(releaseTestGpu);

const tmp = () => mkdtempSync(join(tmpdir(), 'catapult-run-'));
const quiet = () => {};
const catapult = (...args: string[]) => spawnSync(process.execPath, ['bin/catapult.js', ...args], { encoding: 'utf8', timeout: 300_000 });

function steps(dir: string): Record<string, any>[] {
  return parseMetricsJsonl(readFileSync(join(dir, 'metrics.jsonl'), 'utf8')).records as unknown as Record<string, any>[];
}

describe('presets', () => {
  it('every preset resolves to a valid config at both scales, with its paper figure named', () => {
    for (const p of PRESETS) {
      expect(p.paper).not.toBe('');
      for (const scale of ['quick', 'paper'] as const) expect(() => validateTrainConfig(resolvePreset(p.name, { scale })), `${p.name} ${scale}`).not.toThrow();
      for (const v of Object.keys(p.variants ?? {})) expect(() => validateTrainConfig(resolvePreset(p.name, { variant: v })), `${p.name} ${v}`).not.toThrow();
    }
    expect(() => resolvePreset('nope')).toThrow(/unknown preset "nope"; the presets are: gd-catapult/);
  });

  it('every preset runs to completion, shrunk to a few steps and narrow layers', async () => {
    const gpu = await testGpu();
    for (const p of PRESETS) {
      const base = p.config('quick');
      const model = base.model as { kind?: string; hidden?: number[] };
      const narrow: [string, unknown] =
        model.kind === 'wrn' ? ['model.widen', 1] : model.kind === 'vit' ? ['model.dim', 8] : model.hidden ? ['model.hidden', model.hidden.map(() => 16)] : ['model.channels', 4];
      const set: [string, unknown][] = [['steps', 3], narrow, ['readbackEvery', 3]];
      if (base.stopAtLoss !== undefined) set.push(['evalEvery', 1]);
      const out = tmp();
      const summary = await runExperiment(gpu, { preset: p.name, scale: 'quick', set, out, saveAt: [], report: false, progress: false, log: quiet });
      expect(['completed', 'converged', 'diverged'], `${p.name}: ${summary.status} ${summary.message ?? ''}`).toContain(summary.status);
      expect(existsSync(join(out, 'summary.json'))).toBe(true);
      expect(readFileSync(join(out, 'metrics.csv'), 'utf8').split('\n')[0]).toMatch(/^step,lr,loss/);
    }
  }, 600_000);
});

describe('preset behaviour', () => {
  it('gd-catapult: one spike, its peak in L≤5, L>5 falling, λ_max lower after than before', async () => {
    const gpu = await testGpu();
    const out = tmp();
    const s = (await runExperiment(gpu, { preset: 'gd-catapult', scale: 'quick', set: [['steps', 40]], out, saveAt: [], report: false, progress: false, log: quiet })) as any;
    expect(s.status).toBe('completed');
    expect(s.spikes).toHaveLength(1);
    const spike = s.spikes[0];
    const r = steps(out);
    const peak = r[spike.peak];
    expect(peak.lossTopS).toBeGreaterThan(10 * peak.lossRestS);
    // L>5 falls: lower at the end than at the start, and its largest rise over one step is tiny next to the
    // rise of L≤5 into the spike (the spike lives in the top eigenspace).
    expect(r[r.length - 1].lossRestS).toBeLessThan(0.5 * r[0].lossRestS);
    const topRise = peak.lossTopS - r[spike.start].lossTopS;
    for (let t = 1; t < r.length; t++) expect(r[t].lossRestS - r[t - 1].lossRestS).toBeLessThan(0.02 * topRise);
    expect(spike.lambdaAfter).toBeLessThan(0.5 * spike.lambdaBefore);
    expect(s.headline.lambdaAfter).toBeLessThan(s.headline.lambdaBefore);
  }, 300_000);

  it('gd-catapult-cnn at a tiny size (32 digits): one spike, its peak in L≤2, λ_max lower after it than before', async () => {
    const gpu = await testGpu();
    const out = tmp();
    const set: [string, unknown][] = [['steps', 40], ['data.train', 32], ['data.test', 32], ['tracking.set.examples', 32], ['tracking.spectrum.top', 2]];
    const s = (await runExperiment(gpu, { preset: 'gd-catapult-cnn', scale: 'quick', set, out, saveAt: [], report: false, progress: false, log: quiet })) as any;
    expect(s.status).toBe('completed');
    expect(s.spikes).toHaveLength(1);
    const spike = s.spikes[0];
    const r = steps(out);
    const peak = r[spike.peak];
    expect(peak.lossTopS).toBeGreaterThan(4 * peak.lossRestS);
    expect(spike.lambdaAfter).toBeLessThan(0.6 * spike.lambdaBefore);
    expect(s.headline.lambdaAfter).toBeLessThan(s.headline.lambdaBefore);
    expect(r[r.length - 1].loss).toBeLessThan(0.1 * r[0].loss);
  }, 300_000);

  for (const preset of ['sgd-top-eigenspace-wrn', 'sgd-top-eigenspace-vit']) {
    it(`${preset} at 32 digits and 6 steps: the opening spike is a catapult (its rise in L≤1, λ_max halved or more)`, async () => {
      const gpu = await testGpu();
      const out = tmp();
      const set: [string, unknown][] = [['steps', 6], ['data.train', 32], ['data.test', 32], ['tracking.set.examples', 32], ['evalEvery', 3]];
      const s = (await runExperiment(gpu, { preset, scale: 'quick', set, out, saveAt: [], report: false, progress: false, log: quiet })) as any;
      expect(s.status).toBe('completed');
      expect(s.spikes.length).toBeGreaterThanOrEqual(1);
      const spike = s.spikes[0];
      const r = steps(out);
      const [start, peak] = [r[spike.start], r[spike.peak]];
      // The loss the spike adds is in the top eigendirection of the set's NTK.
      expect(peak.lossTop - start.lossTop).toBeGreaterThan(0.8 * (peak.loss - start.loss));
      expect(spike.lambdaAfter).toBeLessThan(0.5 * spike.lambdaBefore);
    }, 300_000);
  }

  it('gd-final-lr-diverges ends "diverged" with every metric up to the divergence', async () => {
    const gpu = await testGpu();
    const out = tmp();
    const s = (await runExperiment(gpu, { preset: 'gd-final-lr-diverges', scale: 'quick', set: [], out, saveAt: [], report: false, progress: false, log: quiet })) as any;
    expect(s.status).toBe('diverged');
    const r = steps(out);
    const bad = r.findIndex((x) => !(x.loss <= 1e8));
    expect(bad).toBeGreaterThan(0);
    expect(s.message).toBe(`loss ${r[bad].loss} at step ${bad} (lr ${r[bad].lr})`);
    expect(r.map((x) => x.step)).toEqual(r.map((_, i) => i));
    // Every loss before the one that passed the limit is finite and kept, with its λ_max.
    for (const x of r.slice(0, bad)) expect(Number.isFinite(x.loss) && x.lambda > 0).toBe(true);
  }, 300_000);

  it('a run whose every ReLU died ends "diverged" with the reason, though its loss stays finite', async () => {
    // With hidden biases (β = 1) the same rate kills every ReLU in the first step: the NTK vanishes.
    const gpu = await testGpu();
    const out = tmp();
    const s = (await runExperiment(gpu, { preset: 'gd-final-lr-diverges', scale: 'quick', set: [['model.hiddenBias', 1]], out, saveAt: [], report: false, progress: false, log: quiet })) as any;
    expect(s.status).toBe('diverged');
    expect(s.message).toMatch(/the tracked NTK vanished at step \d+ .*every ReLU is dead/);
    const r = steps(out);
    expect(r.length).toBeGreaterThan(1);
    expect(r.every((x) => Number.isFinite(x.loss))).toBe(true);
    expect(r[0].lambda).toBeGreaterThan(0);
  }, 300_000);

  it('sgd-single-example: the full loss jumps only at steps that drew the scaled point', async () => {
    const gpu = await testGpu();
    const out = tmp();
    const s = (await runExperiment(gpu, { preset: 'sgd-single-example', scale: 'quick', set: [['steps', 150]], out, saveAt: [], report: false, progress: false, log: quiet })) as any;
    expect(s.status).toBe('completed');
    const config = s.config;
    const order = new BatchOrder(config.data.n, 1, partSeeds(config.seed).batches);
    const drawn = new Set<number>();
    for (let t = 0; t < config.steps; t++) if (order.next()[0] === config.data.scaledIndex) drawn.add(t);
    expect(drawn.size).toBeGreaterThan(0);
    // The full training loss, evaluated after every step: its jumps (by more than 10%) are draws of the point.
    const { evals } = parseMetricsJsonl(readFileSync(join(out, 'metrics.jsonl'), 'utf8'));
    const loss = new Map(evals.map((e) => [e.step, e.trainLoss]));
    const jumps = [...loss.keys()].filter((t) => loss.has(t + 1) && loss.get(t + 1)! > 1.1 * loss.get(t)!);
    expect(jumps.length).toBeGreaterThan(0);
    for (const t of jumps) expect(drawn.has(t), `jump at step ${t}`).toBe(true);
    expect(jumps[0]).toBe(Math.min(...drawn));
    // And only the scaled point was ever critical.
    for (const t of s.criticalSteps) expect(drawn.has(t)).toBe(true);
  }, 300_000);
});

describe('checkpoints and saved NTKs', () => {
  it('a run resumed from a checkpoint gives the same metrics as the uninterrupted run', async () => {
    const gpu = await testGpu();
    const full = tmp();
    const set: [string, unknown][] = [['steps', 12], ['model.hidden', [64]], ['readbackEvery', 5], ['evalEvery', 4]];
    await runExperiment(gpu, { preset: 'sgd-spikes', scale: 'quick', set, out: full, saveAt: [5], report: false, progress: false, log: quiet });
    const resumed = tmp();
    await runExperiment(gpu, { preset: 'sgd-spikes', scale: 'quick', set: [], out: resumed, saveAt: [], resume: join(full, 'checkpoint-5.safetensors'), report: false, progress: false, log: quiet });
    const a = steps(full).filter((r) => r.step >= 5);
    const b = steps(resumed);
    expect(b.map((r) => r.step)).toEqual(a.map((r) => r.step));
    // Bit for bit: losses, η_crit of each batch (warm-started power iteration), the set's λ_max.
    expect(b).toEqual(a);
  }, 300_000);

  it('the checkpoint holds documented tensors, and the saved NTK equals the one recomputed from its weights', async () => {
    const gpu = await testGpu();
    const out = tmp();
    await runExperiment(gpu, { preset: 'gd-catapult', scale: 'quick', set: [['steps', 3], ['model.hidden', [48]], ['model.hiddenBias', 1], ['data.train', 20], ['tracking.set.examples', 20]], out, saveAt: [2], report: false, progress: false, log: quiet });
    const file = new Uint8Array(readFileSync(join(out, 'checkpoint-2.safetensors')));
    const { tensors } = decodeSafetensors(file);
    expect(tensors['layers.0.weight'].shape).toEqual([48, 100]);
    expect(tensors['layers.0.bias'].shape).toEqual([48]);
    expect(tensors['layers.1.weight'].shape).toEqual([1, 48]);
    expect(tensors['layers.1.bias']).toBeUndefined(); // no output bias in catapult presets
    expect(Number((tensors.step.data as BigInt64Array)[0])).toBe(2);
    const saved = decodeCheckpoint(file);
    const K = decodeNpy(new Uint8Array(readFileSync(join(out, 'ntk-2.npy'))));
    const idx = decodeNpy(new Uint8Array(readFileSync(join(out, 'ntk-2-indices.npy'))));
    expect(K.shape).toEqual([20, 20]);
    expect(Array.from(idx.data)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    // Recompute in float64 from the saved weights and the run's data (regenerated from its seed).
    const { buildData } = await import('../src/run/data.ts');
    const { readDataFile } = await import('../src/cli/data-files.ts');
    const data = await buildData(saved.config.data, partSeeds(saved.config.seed).data, readDataFile);
    const net = buildNetwork(gpu, saved.config.model, [100, 1, 1], 1, 0);
    const params = checkpointParams(saved, net.layout);
    const ref = ntkGraphRef({ layers: net.layers, layout: net.layout }, params, data.train.x, 20, 1);
    expect(relErr(K.data, ref)).toBeLessThan(8 * U * (100 + 48 + 1 + 20));
    net.destroy();
  }, 300_000);

  it('a CNN checkpoint names its tensors as the torch Sequential does, and a resumed CNN run repeats the metrics', async () => {
    const gpu = await testGpu();
    const full = tmp();
    const set: [string, unknown][] = [['steps', 5], ['model.channels', 3], ['data.train', 12], ['data.test', 8], ['tracking.set.examples', 12], ['tracking.spectrum.top', 2], ['readbackEvery', 2], ['evalEvery', 2]];
    await runExperiment(gpu, { preset: 'gd-catapult-cnn', scale: 'quick', set, out: full, saveAt: [2], report: false, progress: false, log: quiet });
    const { tensors } = decodeSafetensors(new Uint8Array(readFileSync(join(full, 'checkpoint-2.safetensors'))));
    // Conv2d(1, 3, 3, padding=1), ReLU, Conv2d(3, 3, 3, padding=1), ReLU, ... Flatten, Linear(3·14·14, 1): no biases.
    const shapes = Object.fromEntries(Object.entries(tensors).filter(([name]) => /weight|bias/.test(name)).map(([name, t]) => [name, t.shape]));
    expect(shapes).toEqual({ '0.weight': [3, 1, 3, 3], '2.weight': [3, 3, 3, 3], '4.weight': [3, 3, 3, 3], '6.weight': [3, 3, 3, 3], '9.weight': [1, 3 * 14 * 14] });
    const resumed = tmp();
    await runExperiment(gpu, { preset: 'gd-catapult-cnn', scale: 'quick', set: [], out: resumed, saveAt: [], resume: join(full, 'checkpoint-2.safetensors'), report: false, progress: false, log: quiet });
    const a = steps(full).filter((r) => r.step >= 2);
    expect(steps(resumed)).toEqual(a);
    expect(a.map((r) => r.step)).toEqual([2, 3, 4]);
  }, 300_000);
});

describe('the command line for presets', () => {
  it('a malformed --set, an unknown key value or a bad scale exits 2 naming it', () => {
    const r = catapult('run', 'gd-catapult', '--set', 'schedule.lr');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--set "schedule.lr" must look like key=value/);
    const s = catapult('run', 'gd-catapult', '--set', 'optimizer.name=lbfgs');
    expect(s.status).toBe(2);
    expect(s.stderr).toMatch(/optimizer.name must be one of gd, sgd, rmsprop, adagrad, adadelta, adam/);
    const t = catapult('show', 'gd-catapult', '--scale', 'huge');
    expect(t.status).toBe(2);
    expect(t.stderr).toMatch(/--scale must be one of quick, paper, got "huge"/);
    const g = catapult('run', 'gd-catapult-cnn', '--set', 'model.channel=8');
    expect(g.status).toBe(2);
    expect(g.stderr).toMatch(/model \(cnn\): unknown key "channel" \(did you mean "channels"\?\); model \(cnn\) takes kind, parameterization, sigma, frozen, depth, channels/);
    const k = catapult('run', 'gd-catapult-cnn', '--set', 'model.kernel=40', '--set', 'model.padding=0');
    expect(k.status).toBe(2);
    expect(k.stderr).toMatch(/layer 0 of the cnn model \(conv2d\): kernel 40 is larger than its input .*14.*14.* with padding 0/);
    expect(k.stderr).not.toMatch(/    at /); // no stack trace
  });

  it('list shows every preset, the WRN and ViT rows included, and nothing unsupported', () => {
    const r = catapult('list');
    expect(r.status).toBe(0);
    for (const p of PRESETS) expect(r.stdout).toContain(p.name);
    expect(r.stdout).toMatch(/sgd-top-eigenspace-wrn +Fig. 7, 15, 19–22 \(WRN-10-10\)/);
    expect(r.stdout).toMatch(/sgd-top-eigenspace-vit +Fig. 7, 33 \(ViT-4\)/);
    expect(r.stdout).not.toMatch(/not yet supported/);
    // A ViT has no second-order pass: Hessian tracking is refused before anything trains, naming the layer.
    const h = catapult('run', 'sgd-top-eigenspace-vit', '--set', 'steps=1', '--set', 'model.dim=8', '--set', 'tracking.hessian.iterations=5', '--out', tmp());
    expect(h.status).toBe(2);
    expect(h.stderr).toMatch(/tracking.hessian: the layernorm layer "blocks.0.norm1" has no R-operator \(second derivative\)/);
  });

  it('run writes the report and its PNGs; show prints the resolved config', () => {
    const out = tmp();
    const r = catapult('run', 'gd-catapult', '--set', 'steps=12', '--set', 'model.hidden=64', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/headline: spikes/);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    // Self-contained and script-free: every chart inline as SVG, and as its own SVG and 2× PNG file.
    expect(html).not.toMatch(/<script/);
    expect(html).toMatch(/<section class="chart" id="chart-spectrum"><svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(readFileSync(join(out, 'run.json'), 'utf8')).toMatch(/"format": "catapult-lab run start"/);
    // 40 Lanczos steps on the 128×128 kernel leave λ_min unconverged at some steps: the report says how many.
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.convergence.quantities.lambda).toMatchObject({ tracked: 12, unconverged: 0 });
    expect(summary.convergence.quantities.lambdaMin.tracked).toBe(12);
    expect(html).toMatch(/<h2>Convergence \(relative residual/);
    expect(html).toMatch(new RegExp(`λ_min of the tracked set’s NTK \\(Lanczos\\)</td><td>12</td><td>${summary.convergence.quantities.lambdaMin.unconverged}</td>`));
    for (const chart of ['loss', 'lambda', 'schedule', 'spectrum', 'spectrum-points']) {
      const svg = readFileSync(join(out, `chart-${chart}.svg`), 'utf8');
      expect(svg, chart).toContain('<g class="legend">');
      const png = readFileSync(join(out, `chart-${chart}.png`));
      expect(png.readUInt32BE(16), chart).toBe(2 * Number(/<svg[^>]* width="(\d+)"/.exec(svg)![1]));
    }
    const show = catapult('show', 'sgd-batch-size', '--set', 'batchSize=50');
    expect(show.status).toBe(0);
    expect(JSON.parse(show.stdout).batchSize).toBe(50);
  }, 300_000);

  it('Ctrl-C stops the whole sweep: the run it lands in ends "stopped" with its metrics, no other run starts, the aggregate counts it apart, exit 130', async () => {
    const out = tmp();
    const args = ['bin/catapult.js', 'sweep', 'gd-catapult', '--grid', 'schedule.lr=0.5,1.5', '--seeds', '2', '--set', 'steps=100000', '--set', 'model.hidden=16', '--set', 'readbackEvery=1', '--no-report', '--out', out];
    const metrics = join(out, 'schedule.lr=0.5', 'seed-0', 'metrics.jsonl');
    const code = await new Promise<number | null>((done) => {
      const child = spawn(process.execPath, args, { stdio: 'ignore' });
      // Interrupt once the first run has written a few steps.
      const timer = setInterval(() => {
        if (existsSync(metrics) && readFileSync(metrics, 'utf8').split('\n').length > 5) {
          child.kill('SIGINT');
          clearInterval(timer);
        }
      }, 50);
      child.on('exit', (c) => {
        clearInterval(timer);
        done(c);
      });
    });
    expect(code).toBe(130);
    const summary = JSON.parse(readFileSync(join(out, 'schedule.lr=0.5', 'seed-0', 'summary.json'), 'utf8'));
    expect(summary.status).toBe('stopped');
    expect(summary.steps).toBeGreaterThan(3);
    expect(existsSync(join(out, 'schedule.lr=0.5', 'seed-1'))).toBe(false);
    expect(existsSync(join(out, 'schedule.lr=1.5'))).toBe(false);
    const aggregate = readFileSync(join(out, 'aggregate.md'), 'utf8');
    expect(aggregate).toMatch(/\| combination \| runs \| interrupted \|/);
    expect(aggregate).toMatch(/schedule.lr=0.5 \| 0 \| 1 \|/);
    expect(aggregate).toMatch(/schedule.lr=1.5 \| 0 \| 0 \|/);
  }, 300_000);

  it('a sweep killed halfway resumes where it stopped and keeps every finished run', async () => {
    const out = tmp();
    const args = ['bin/catapult.js', 'sweep', 'gd-catapult', '--grid', 'schedule.lr=0.5,1.5', '--seeds', '2', '--set', 'steps=6', '--set', 'model.hidden=32', '--no-report', '--out', out];
    const firstDone = join(out, 'schedule.lr=0.5', 'seed-0', 'summary.json');
    // Kill the sweep as soon as its first run is finished.
    await new Promise<void>((resolveKill, reject) => {
      const child = spawn(process.execPath, args, { stdio: 'ignore' });
      const timer = setInterval(() => {
        if (existsSync(firstDone)) {
          child.kill('SIGKILL');
          clearInterval(timer);
        }
      }, 50);
      child.on('exit', () => {
        clearInterval(timer);
        existsSync(firstDone) ? resolveKill() : reject(new Error('the sweep ended before its first run finished'));
      });
    });
    const before = readFileSync(firstDone, 'utf8');
    expect(existsSync(join(out, 'aggregate.md'))).toBe(false);
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/kept from before/);
    expect(r.stdout).not.toMatch(/schedule.lr=0.5, seed 0/); // not rerun
    expect(readFileSync(firstDone, 'utf8')).toBe(before);
    const aggregate = readFileSync(join(out, 'aggregate.md'), 'utf8');
    expect(aggregate).toMatch(/schedule.lr=0.5 \| 2 \| 0 \|/);
    expect(aggregate).toMatch(/schedule.lr=1.5 \| 2 \| 0 \|/);
    // aggregate.csv is tidy: a column per swept key, numeric mean, sd and count per headline quantity.
    const csv = readFileSync(join(out, 'aggregate.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
    expect(csv[0].slice(0, 3)).toEqual(['schedule.lr', 'runs', 'interrupted']);
    expect(csv.slice(1).map((r) => r.slice(0, 3))).toEqual([['0.5', '2', '0'], ['1.5', '2', '0']]);
    const col = (name: string) => csv[0].indexOf(name);
    expect(col('finalLoss_mean')).toBeGreaterThan(2);
    for (const r of csv.slice(1)) {
      expect(Number(r[col('finalLoss_mean')])).toBeGreaterThan(0);
      expect(Number(r[col('finalLoss_sd')])).toBeGreaterThanOrEqual(0);
      expect(r[col('finalLoss_n')]).toBe('2');
    }
  }, 300_000);

  it('a sweep in shards runs disjoint parts; --merge gathers them, naming runs missing or duplicated; the report draws the mean over seeds with a band', () => {
    const [a, b, c, merged] = [tmp(), tmp(), tmp(), tmp()];
    const sweep = (...extra: string[]) => catapult('sweep', 'gd-catapult', '--grid', 'schedule.lr=0.5,1.5', '--seeds', '2', '--set', 'steps=4', '--set', 'model.hidden=16', '--no-report', ...extra);
    const runsIn = (dir: string) => ['schedule.lr=0.5', 'schedule.lr=1.5'].flatMap((f) => [0, 1].filter((s) => existsSync(join(dir, f, `seed-${s}`, 'summary.json'))).map((s) => `${f}/${s}`));
    for (const [shard, dir] of [['1/2', a], ['2/2', b]]) {
      const r = sweep('--shard', shard, '--out', dir);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`shard ${shard} done; the folder holds 2 of 4 runs \\(missing: `));
    }
    // Every count-th run from the index-th, in plan order: together all, no run twice.
    expect(runsIn(a)).toEqual(['schedule.lr=0.5/0', 'schedule.lr=1.5/0']);
    expect(runsIn(b)).toEqual(['schedule.lr=0.5/1', 'schedule.lr=1.5/1']);
    const alone = catapult('sweep', '--merge', a, '--no-report', '--out', c);
    expect(alone.status, alone.stderr).toBe(0);
    expect(alone.stdout).toMatch(/merged 1 folder\(s\) into .*: 2 of 4 runs/);
    expect(alone.stdout).toMatch(/missing \(no finished run in any folder\): schedule.lr=0.5, seed 1; schedule.lr=1.5, seed 1/);
    const all = catapult('sweep', '--merge', a, b, c, '--no-report', '--out', merged);
    expect(all.status, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/: 4 of 4 runs/);
    expect(all.stdout).toMatch(/duplicated \(finished in more than one folder\): schedule.lr=0.5, seed 0 \(in .*; kept the first\); schedule.lr=1.5, seed 0/);
    expect(runsIn(merged)).toHaveLength(4);
    const csv = readFileSync(join(merged, 'aggregate.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
    expect(csv.slice(1).map((r) => r.slice(0, 3))).toEqual([['0.5', '2', '0'], ['1.5', '2', '0']]);
    // The sweep's report: each combination's mean over its 2 seeds, with the least and largest.
    const curves = sweepCurves(merged);
    expect(curves.loss.map((r) => [r.label, r.seeds])).toEqual([['schedule.lr=0.5', 2], ['schedule.lr=1.5', 2]]);
    const lr05 = curves.loss[0];
    const html = sweepReportHtml(merged);
    for (const label of ['schedule.lr=0.5 (2 seeds)', 'schedule.lr=1.5 (2 seeds)']) expect(html).toContain(`<g class="series" data-label="${label}">`);
    expect(html.match(/class="band"/g)!.length).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < 4; i++) {
      expect(lr05.lo[i]).toBeLessThanOrEqual(lr05.mean[i]!);
      expect(lr05.mean[i]).toBeLessThanOrEqual(lr05.hi[i]!);
    }
    expect(lr05.lo.some((v, i) => v! < lr05.hi[i]!)).toBe(true);
    // A folder holds one sweep; a bad shard is refused.
    const other = catapult('sweep', 'gd-catapult', '--grid', 'schedule.lr=0.7', '--no-report', '--out', a);
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/holds another sweep/);
    // Malformed --shard and --merge arguments are in the corpus (malformed-input.test.ts).
  }, 300_000);
});
