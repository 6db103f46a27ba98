// CNN benchmark: the paper's 5-layer CNN (four 3×3 convolutions and a linear output, no biases) at the quick
// presets' size, a wider one, and the paper's Fig. 3 size (n = 128 on 32×32×3, 512 channels). For each: a GD
// training step on n examples, K by Jacobian contraction, and λ_max of the NTK both ways (K formed and 20
// power iterations on it, or 20 matrix-free products K·v = J(Jᵀv)), with time, GFLOP/s, peak buffer bytes,
// the method `auto` picks (src/ntk/method.ts) and the one measured faster. The step trains on the bundled digits
// (or a seeded CIFAR-format file); the NTK of seeded uniform images. Usage: npm run bench:cnn [-- --sizes quick,wide,paper]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDataFile } from '../src/cli/data-files.ts';
import { Rng } from '../src/data/random.ts';
import type { Gpu } from '../src/gpu/gpu.ts';
import { median, timeStep } from '../src/gpu/timing.ts';
import { buildNetwork } from '../src/nn/graph.ts';
import type { CnnModel } from '../src/nn/models.ts';
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
  channels: number;
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

export const CNN_CASES: Record<string, CnnCase> = {
  quick: { id: 'quick', label: 'quick presets: 16 ch., 1×14×14 digits', shape: [1, 14, 14], channels: 16, n: N, data: digits },
  wide: { id: 'wide', label: '64 ch., 1×14×14 digits', shape: [1, 14, 14], channels: 64, n: N, data: digits },
  paper: { id: 'paper', label: 'paper Fig. 3: 512 ch., 3×32×32', shape: [3, 32, 32], channels: 512, n: N, data: cifarLike },
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

export async function cnnTable(gpu: Gpu, options: { cases: CnnCase[]; log?: (line: string) => void }): Promise<BenchTable> {
  const log = options.log ?? console.log;
  const rows: (string | number)[][] = [];
  for (const c of options.cases) {
    const model: CnnModel = { kind: 'cnn', depth: 5, channels: c.channels };
    const size = c.shape[0] * c.shape[1] * c.shape[2];
    const x = new Rng(7).uniformArray(c.n * size, 0, 1);
    const net = buildNetwork(gpu, model, c.shape, 1, 0);
    const sites = net.sites;
    // Flops from the sites: a forward pass is 2·n·weights·positions; a training step adds the weight
    // gradients (as many) and the input gradients of every layer but the first (as many).
    const forward = sites.reduce((f, s) => f + 2 * c.n * s.weight.count * (s.outSize / s.layer.ntk.units), 0);
    const firstLayer = 2 * c.n * sites[0].weight.count * (sites[0].outSize / sites[0].layer.ntk.units);
    const stepFlops = 3 * forward - firstLayer;
    const costs = ntkCosts({ sites, n: c.n, k: 1, iterations: ITERATIONS, inputGram: true });
    const jacobianFlops = costs.structured - ITERATIONS * 2 * c.n * c.n;
    const formedRows = formedRowsLimit(sites, 1, net.microBatch, gpu.limits.maxStorageBufferBindingSize);
    const auto = chooseNtkMethod({ sites, n: c.n, k: 1, iterations: ITERATIONS, inputGram: true, maxBindingBytes: gpu.limits.maxStorageBufferBindingSize, formedRows });
    net.destroy();

    // A GD step on the n examples, as the runner runs it (micro-batches where one pass cannot hold n).
    const trainer = await Trainer.create(
      gpu,
      { data: c.data(), model, loss: 'mse', optimizer: { name: 'gd' }, schedule: { kind: 'constant', lr: 1e-3 }, batchSize: 'full', steps: 1_000_000, divergeAbove: Infinity, seed: 0 },
      readDataFile,
    );
    const train = await stepTime(gpu, trainer, 2);
    const passes = trainer.microBatched ? `, ${Math.ceil(c.n / trainer.passRows)} passes` : '';
    trainer.destroy();

    const net2 = buildNetwork(gpu, model, c.shape, 1, 0);
    const X = gpu.matrix('X', c.n, size, x);
    const gram = new NtkGram(gpu, net2);
    const power = new PowerIteration(gpu, c.n, 1);
    const slot = gpu.createBuffer({ label: 'λ', size: 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    let formedMs = NaN;
    let jacobian = { ms: NaN, peak: NaN };
    if (c.n <= formedRows) {
      const K = gpu.matrix('K', c.n, c.n);
      jacobian = await measure(gpu, (s) => gram.jacobian(s, X, K).then(() => {}), 1);
      const iterate = await measure(gpu, (s) => power.record(s, K, ITERATIONS, slot, 0), 2);
      formedMs = jacobian.ms + iterate.ms;
      K.buffer.destroy();
    }
    const mf = new MatrixFreeNtk(gpu, net2, X);
    const matrixFree = await measure(gpu, (s) => power.record(s, mf, ITERATIONS, slot, 0), 1);
    const faster = !(formedMs < matrixFree.ms) ? 'matrix-free' : 'formed';
    const picked = auto === 'structured' ? 'formed' : 'matrix-free';
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
      gflops(costs['matrix-free'], matrixFree.ms),
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
    id: 'cnn',
    title: 'CNN training step and NTK',
    description:
      `${provenance()} The paper's CNN-5 (four 3×3 convolutions with padding 1 and ReLUs, flatten, a linear output; no biases), ` +
      'n = 128. Train step: one GD step on n bundled digits 7 and 9 averaged to 14×14 (the paper size: a seeded file in CIFAR-10\'s format), ' +
      'as the runner runs it, wall time, median of 2. The NTK of n seeded uniform images, GPU time where timestamp queries exist. K by J·Jᵀ: per-example gradients in chunks of output channels, contracted (one run). ' +
      `λ_max formed: K by J·Jᵀ plus ${ITERATIONS} power iterations on it; matrix-free: ${ITERATIONS} products K·v = J(Jᵀv) (one run). ` +
      'GFLOP/s from the multiply-adds of each (src/ntk/method.ts). Peak MiB: the most buffer memory live during the operation, the ' +
      'network and data included. "auto picks": the cost-and-memory rule; "faster": the measured one (bold where they differ).',
    columns: ['CNN-5, n = 128', 'params', 'train step ms', 'GFLOP/s', 'peak MiB', 'K by J·Jᵀ ms', 'GFLOP/s', 'peak MiB', `λ_max formed ms`, `λ_max matrix-free ms`, 'GFLOP/s', 'peak MiB', 'auto picks', 'faster'],
    rows,
  };
}
