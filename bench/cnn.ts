// Benchmarks of the image models: the paper's 5-layer CNN (four 3×3 convolutions and a linear output, no
// biases) at the quick presets' size, a wider one, and the paper's Fig. 3 size (n = 128 on 32×32×3, 512
// channels); and the Fig. 7 Wide ResNet 10-k and ViT-4 at the quick presets' sizes and the paper's. For each: a GD
// training step on n examples, K by Jacobian contraction, and λ_max of the NTK both ways (K formed and 20
// power iterations on it, or 20 matrix-free products K·v = J(Jᵀv)), with time, GFLOP/s, peak buffer bytes,
// the method `auto` picks (src/ntk/method.ts) and the one measured faster. The step trains on the bundled digits
// (or a seeded CIFAR-format file); the NTK of seeded uniform images.
// Usage: npm run bench:cnn [-- --sizes quick,wide,paper], npm run bench:wrn-vit [-- --sizes wrn-quick,vit-quick,wrn-paper,vit-paper]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDataFile } from '../src/cli/data-files.ts';
import { Rng } from '../src/data/random.ts';
import type { Gpu } from '../src/gpu/gpu.ts';
import { median, timeStep } from '../src/gpu/timing.ts';
import { buildNetwork } from '../src/nn/graph.ts';
import { Attention } from '../src/nn/layers/attention.ts';
import type { ModelConfig } from '../src/nn/models.ts';
import type { Shape } from '../src/nn/network.ts';
import { NtkGram } from '../src/ntk/gram.ts';
import { MatrixFreeNtk } from '../src/ntk/matrix-free.ts';
import { chooseNtkMethod, formedRowsLimit, ntkCosts } from '../src/ntk/method.ts';
import { PowerIteration } from '../src/ntk/spectrum.ts';
import type { DataConfig } from '../src/run/data.ts';
import { Trainer } from '../src/run/train.ts';
import { provenance, type BenchTable } from './results-file.ts';

export interface CnnCase {
  id: string;
  label: string;
  shape: Shape;
  model: ModelConfig;
  n: number;
  data: () => DataConfig;
}

const N = 128;
const digits = (): DataConfig => ({ kind: 'mnist', train: N, classes: [7, 9], targets: 'pm1', downsample: 2 });

/**
 * CIFAR-10 is not bundled, and speed does not depend on the pixels: a seeded file in its binary batch format
 * (a label byte, then 3072 pixel bytes) with classes 7 and 9, read by the real loader.
 */
function cifarLike(): DataConfig {
  const dir = mkdtempSync(join(tmpdir(), 'catapult-bench-'));
  const file = join(dir, 'data_batch_1.bin');
  const rng = new Rng(7);
  const bytes = new Uint8Array(N * 3073);
  for (let i = 0; i < N; i++) {
    bytes[i * 3073] = i % 2 ? 9 : 7;
    for (let j = 1; j <= 3072; j++) bytes[i * 3073 + j] = rng.int(256);
  }
  writeFileSync(file, bytes);
  return { kind: 'cifar10', files: [file], train: N, classes: [7, 9], targets: 'pm1' };
}

const cnn5 = (channels: number): ModelConfig => ({ kind: 'cnn', depth: 5, channels });

export const CNN_CASES: Record<string, CnnCase> = {
  quick: { id: 'quick', label: 'quick presets: 16 ch., 1×14×14 digits', shape: [1, 14, 14], model: cnn5(16), n: N, data: digits },
  wide: { id: 'wide', label: '64 ch., 1×14×14 digits', shape: [1, 14, 14], model: cnn5(64), n: N, data: digits },
  paper: { id: 'paper', label: 'paper Fig. 3: 512 ch., 3×32×32', shape: [3, 32, 32], model: cnn5(512), n: N, data: cifarLike },
};

/** The Fig. 7 nets as the presets build them (src/run/presets.ts), at both scales. */
export const WRN_VIT_CASES: Record<string, CnnCase> = {
  'wrn-quick': { id: 'wrn-quick', label: 'WRN-10-1 (quick preset), 1×14×14 digits', shape: [1, 14, 14], model: { kind: 'wrn', depth: 10, widen: 1 }, n: N, data: digits },
  'vit-quick': { id: 'vit-quick', label: 'ViT-4 dim 32, 2 heads, 49 tokens (quick preset)', shape: [1, 14, 14], model: { kind: 'vit', dim: 32, patch: 2, depth: 4, heads: 2, mlpRatio: 2 }, n: N, data: digits },
  'wrn-paper': { id: 'wrn-paper', label: 'WRN-10-10 (paper), 3×32×32', shape: [3, 32, 32], model: { kind: 'wrn', depth: 10, widen: 10 }, n: N, data: cifarLike },
  'vit-paper': { id: 'vit-paper', label: 'ViT-4 dim 256, 8 heads, 64 tokens (paper), 3×32×32', shape: [3, 32, 32], model: { kind: 'vit', dim: 256, patch: 4, depth: 4, heads: 8, mlpRatio: 2 }, n: N, data: cifarLike },
};

const ITERATIONS = 20;
const MiB = 2 ** 20;

/** Wall time of a training step (median of `reps` after one to compile) and the peak bytes live during them. */
async function stepTime(gpu: Gpu, trainer: Trainer, reps: number): Promise<{ ms: number; peak: number }> {
  await trainer.trainStep(0);
  await gpu.done();
  gpu.trimScratch();
  gpu.resetPeak();
  const samples: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await trainer.trainStep(0);
    await gpu.done();
    samples.push(performance.now() - t0);
  }
  return { ms: median(samples), peak: gpu.peakBytes };
}

/** Time and peak bytes of one recorded operation (median over reps, GPU time where the adapter has it). */
async function measure(gpu: Gpu, record: Parameters<typeof timeStep>[1], reps: number): Promise<{ ms: number; peak: number }> {
  gpu.trimScratch();
  gpu.resetPeak();
  const t = await timeStep(gpu, record, { warmup: 1, minReps: reps });
  return { ms: t.medianMs, peak: gpu.peakBytes };
}

const gflops = (flops: number, ms: number) => (flops / ms / 1e6).toFixed(2);

export const cnnTable = (gpu: Gpu, options: { cases: CnnCase[]; log?: (line: string) => void }) =>
  modelTable(gpu, {
    ...options,
    id: 'cnn',
    title: 'CNN training step and NTK',
    what: "The paper's CNN-5 (four 3×3 convolutions with padding 1 and ReLUs, flatten, a linear output; no biases)",
    column: 'CNN-5, n = 128',
  });

export const wrnVitTable = (gpu: Gpu, options: { cases: CnnCase[]; log?: (line: string) => void }) =>
  modelTable(gpu, {
    ...options,
    id: 'wrn-vit',
    title: 'Wide ResNet and ViT training step and NTK',
    what: "Fig. 7's Wide ResNet 10-k (no batch norm, no biases) and ViT-4 (pre-norm, no biases in the linear maps), as the presets build them",
    column: 'net, n = 128',
  });

/**
 * Flops of one forward pass of n examples: 2·n·weights·positions per parametrized layer, and attention's
 * own products (QᵀK and V·Pᵀ: 4·n·dim·tokens²), which no parametrized layer holds.
 */
function forwardFlops(net: ReturnType<typeof buildNetwork>, n: number): { sites: number; attention: number } {
  const sites = net.sites.reduce((f, s) => f + 2 * n * s.weight.count * (s.outSize / s.layer.ntk.units), 0);
  const attention = net.layers.reduce((f, l) => f + (l instanceof Attention ? 4 * n * l.outShape[0] * (l.outShape[1] * l.outShape[2]) ** 2 : 0), 0);
  return { sites, attention };
}

async function modelTable(gpu: Gpu, options: { id: string; title: string; what: string; column: string; cases: CnnCase[]; log?: (line: string) => void }): Promise<BenchTable> {
  const log = options.log ?? console.log;
  const rows: (string | number)[][] = [];
  for (const c of options.cases) {
    const model = c.model;
    const size = c.shape[0] * c.shape[1] * c.shape[2];
    const x = new Rng(7).uniformArray(c.n * size, 0, 1);
    const net = buildNetwork(gpu, model, c.shape, 1, 0);
    const sites = net.sites;
    // A training step adds to the forward pass the weight gradients (as many flops) and the input gradients
    // of every layer but the first (as many); attention's backward is two products per forward one.
    const forward = forwardFlops(net, c.n);
    const firstLayer = 2 * c.n * sites[0].weight.count * (sites[0].outSize / sites[0].layer.ntk.units);
    const stepFlops = 3 * forward.sites - firstLayer + 3 * forward.attention;
    const costs = ntkCosts({ sites, n: c.n, k: 1, iterations: ITERATIONS, inputGram: true });
    // A matrix-free product is a backward and a forward-mode pass: attention's part in it, which the cost rule leaves out.
    const matrixFreeFlops = costs['matrix-free'] + ITERATIONS * 4 * forward.attention;
    const jacobianFlops = costs.formed - ITERATIONS * 2 * c.n * c.n;
    const formedRows = formedRowsLimit(sites, 1, net.microBatch, gpu.limits.maxStorageBufferBindingSize);
    const auto = chooseNtkMethod({ sites, n: c.n, k: 1, iterations: ITERATIONS, inputGram: true, maxBindingBytes: gpu.limits.maxStorageBufferBindingSize, formedRows });
    net.destroy();

    // A GD step on the n examples, as the runner runs it (micro-batches where one pass cannot hold n).
    const trainer = await Trainer.create(
      gpu,
      { data: c.data(), model, loss: 'mse', optimizer: { name: 'gd' }, schedule: { kind: 'constant', lr: 1e-3 }, batchSize: 'full', steps: 1_000_000, divergeAbove: 1e30, seed: 0 },
      readDataFile,
    );
    const train = await stepTime(gpu, trainer, 2);
    const passes = trainer.microBatched ? `, ${Math.ceil(c.n / trainer.passRows)} passes` : '';
    trainer.destroy();

    const net2 = buildNetwork(gpu, model, c.shape, 1, 0);
    const X = gpu.matrix('X', c.n, size, x);
    const gram = new NtkGram(gpu, net2);
    const power = new PowerIteration(gpu, c.n, 1);
    const slot = gpu.createBuffer({ label: 'λ', size: 8, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    let formedMs = NaN;
    let jacobian = { ms: NaN, peak: NaN };
    if (c.n <= formedRows) {
      const K = gpu.matrix('K', c.n, c.n);
      jacobian = await measure(gpu, (s) => gram.jacobian(s, X, K).then(() => {}), 1);
      const iterate = await measure(gpu, (s) => power.record(s, K, ITERATIONS, slot, 0, 1), 2);
      formedMs = jacobian.ms + iterate.ms;
      K.buffer.destroy();
    }
    const mf = new MatrixFreeNtk(gpu, net2, X);
    const matrixFree = await measure(gpu, (s) => power.record(s, mf, ITERATIONS, slot, 0, 1), 1);
    const faster = !(formedMs < matrixFree.ms) ? 'matrix-free' : 'formed';
    const picked = auto;
    const row = [
      c.label,
      `${(net2.layout.count / 1e6).toFixed(2)} M`,
      `${train.ms.toFixed(0)}${passes}`,
      gflops(stepFlops, train.ms),
      (train.peak / MiB).toFixed(0),
      Number.isNaN(jacobian.ms) ? `— (n > ${formedRows})` : jacobian.ms.toFixed(0),
      Number.isNaN(jacobian.ms) ? '—' : gflops(jacobianFlops, jacobian.ms),
      Number.isNaN(jacobian.ms) ? '—' : (jacobian.peak / MiB).toFixed(0),
      Number.isNaN(formedMs) ? '—' : formedMs.toFixed(0),
      matrixFree.ms.toFixed(0),
      gflops(matrixFreeFlops, matrixFree.ms),
      (matrixFree.peak / MiB).toFixed(0),
      picked,
      picked === faster ? `${faster} (${(Math.max(formedMs, matrixFree.ms) / Math.min(formedMs, matrixFree.ms)).toFixed(1)}×)` : `**${faster}**`,
    ];
    rows.push(row);
    log(row.join('  |  '));
    for (const o of [mf, gram, power, net2]) o.destroy();
    X.buffer.destroy();
    slot.destroy();
  }
  return {
    id: options.id,
    title: options.title,
    description:
      `${provenance()} ${options.what}, ` +
      'n = 128. Train step: one GD step on n bundled digits 7 and 9 averaged to 14×14 (the paper size: a seeded file in CIFAR-10\'s format), ' +
      'as the runner runs it, wall time, median of 2. The NTK of n seeded uniform images, GPU time where timestamp queries exist. K by J·Jᵀ: per-example gradients in chunks of output channels, contracted (one run). ' +
      `λ_max formed: K by J·Jᵀ plus ${ITERATIONS} power iterations on it; matrix-free: ${ITERATIONS} products K·v = J(Jᵀv) (one run). ` +
      'GFLOP/s from the multiply-adds of each (src/ntk/method.ts, plus attention\'s own products in the step and matrix-free columns). Peak MiB: the most buffer memory live during the operation, the ' +
      'network and data included. "auto picks": the cost-and-memory rule; "faster": the measured one (bold where they differ).',
    columns: [options.column, 'params', 'train step ms', 'GFLOP/s', 'peak MiB', 'K by J·Jᵀ ms', 'GFLOP/s', 'peak MiB', `λ_max formed ms`, `λ_max matrix-free ms`, 'GFLOP/s', 'peak MiB', 'auto picks', 'faster'],
    rows,
  };
}
