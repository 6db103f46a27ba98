// NTK benchmark at the paper's Fig. 3 size (n = 128, d = 3072, width 1024; synthetic inputs, CIFAR is not
// bundled): time to form K by the structured method and by Jacobian contraction, the speed-up, λ_max by
// power iteration and the top-5 eigenpairs by Lanczos, and a training step (batch 32) with and without
// full tracking (NTK of the batch and of 128 fixed points every step). Usage: npm run bench:ntk
import { perExampleGradients } from '../shaders/ntk.ts';
import { addInPlace } from '../shaders/lincomb.ts';
import { readDataFile } from '../src/cli/data-files.ts';
import { Rng } from '../src/data/random.ts';
import type { Gpu } from '../src/gpu/gpu.ts';
import { median, timeStep } from '../src/gpu/timing.ts';
import { buildNetwork } from '../src/nn/graph.ts';
import { NtkGram } from '../src/ntk/gram.ts';
import { Lanczos, PowerIteration } from '../src/ntk/spectrum.ts';
import { Trainer, type TrainConfig } from '../src/run/train.ts';
import { provenance, type BenchTable } from './results-file.ts';

const N = 128;
const D = 3072;
const NETS = [
  { label: '2-layer', hidden: [1024] },
  { label: '5-layer', hidden: [1024, 1024, 1024, 1024] },
];

async function ms<T>(f: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const r = await f();
  return [performance.now() - t0, r];
}

function stepConfig(hidden: number[], tracked: boolean, steps: number): TrainConfig {
  return {
    data: { kind: 'synthetic', task: 'rank-2', d: D, train: 256, noise: 0.1 },
    model: { hidden },
    loss: 'mse',
    optimizer: { name: 'sgd' },
    schedule: { kind: 'constant', lr: 0.1 },
    batchSize: 32,
    steps: 1_000_000,
    readbackEvery: steps,
    divergeAbove: 1e30, // finite: the config schema refuses Infinity
    seed: 0,
    ...(tracked ? { tracking: { batch: { iterations: 20 }, set: { examples: N, iterations: 20 } } } : {}),
  };
}

/**
 * Wall time per training step without and with full tracking, medians of `rounds` alternating runs of
 * `steps` steps each (CPU drivers' timings drift by ±10% between runs: only interleaved ones compare).
 */
async function trackingCost(gpu: Gpu, hidden: number[], rounds = 5, steps = 4): Promise<{ plain: number; tracked: number }> {
  const trainers = await Promise.all([false, true].map((t) => Trainer.create(gpu, stepConfig(hidden, t, steps), readDataFile)));
  for (const tr of trainers) {
    await tr.trainStep(0); // compiles every pipeline the step uses
    await gpu.read(tr.net.params, 0, 4);
  }
  const samples: number[][] = [[], []];
  for (let r = 0; r < rounds; r++) {
    for (const [i, tr] of trainers.entries()) {
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) await tr.trainStep(s);
      await gpu.read(tr.net.params, 0, 4);
      samples[i].push((performance.now() - t0) / steps);
    }
  }
  for (const tr of trainers) tr.destroy();
  return { plain: median(samples[0]), tracked: median(samples[1]) };
}

/**
 * The least a tracked step can cost over a plain one, from flops alone: a plain step is the batch's forward,
 * weight gradients and backward products; tracking adds at least the forward pass of the 128 fixed points.
 */
function flopBound(hidden: number[]): number {
  const widths = [D, ...hidden, 1];
  let plain = 0;
  let setForward = 0;
  for (let l = 0; l + 1 < widths.length; l++) {
    const mac = widths[l] * widths[l + 1];
    plain += 2 * 32 * mac * (l === 0 ? 2 : 3);
    setForward += 2 * N * mac;
  }
  return (plain + setForward) / plain;
}

/** K by both methods, λ_max, top-5, and the cost of full tracking in a training step, for each network. */
export async function ntkTable(gpu: Gpu, options: { log?: (line: string) => void } = {}): Promise<BenchTable> {
  const log = options.log ?? console.log;
  const rows: (string | number)[][] = [];
  for (const net of NETS) {
    const mlp = buildNetwork(gpu, { hidden: net.hidden }, [D, 1, 1], 1, 1);
    const gram = new NtkGram(gpu, mlp);
    const X = gpu.matrix('X', N, D, new Rng(2).uniformArray(N * D, -1, 1));
    const Ks = gpu.matrix('K structured', N, N);
    const Kj = gpu.matrix('K jacobian', N, N);
    const structured = await timeStep(gpu, (s) => gram.structured(s, X, Ks).then(() => {}), { warmup: 1, minReps: 3 });
    await gpu.prepare([perExampleGradients, addInPlace]);
    // Jacobian contraction is slow by design (it is the check): one timed run, pipelines compiled before.
    const jacobian = await timeStep(gpu, (s) => gram.jacobian(s, X, Kj).then(() => {}), { warmup: 0, minReps: 1 });
    const [a, b] = [await gpu.read(Ks), await gpu.read(Kj)];
    let num = 0;
    let den = 0;
    for (let i = 0; i < a.length; i++) {
      num += (a[i] - b[i]) ** 2;
      den += b[i] ** 2;
    }
    const power = new PowerIteration(gpu, N, 3);
    await power.run(Ks, { maxIterations: 10 }); // compile
    const cold = new PowerIteration(gpu, N, 4);
    const [powerMs, p] = await ms(() => cold.run(Ks, { tolerance: 1e-6 }));
    const lanczos = new Lanczos(gpu, N);
    await lanczos.run(Ks, { count: 5, iterations: 10 }); // compile
    const [lanczosMs, l] = await ms(() => lanczos.run(Ks, { count: 5 }));
    const { plain, tracked } = await trackingCost(gpu, net.hidden);
    const row = [
      `${net.label}, width 1024`,
      structured.medianMs.toFixed(0),
      jacobian.medianMs.toFixed(0),
      `${(jacobian.medianMs / structured.medianMs).toFixed(0)}×`,
      Math.sqrt(num / den).toExponential(1),
      `${powerMs.toFixed(0)} (${p.iterations} it.)`,
      `${lanczosMs.toFixed(0)} (${l.iterations} steps)`,
      plain.toFixed(0),
      tracked.toFixed(0),
      `${(tracked / plain).toFixed(2)}×`,
      `${flopBound(net.hidden).toFixed(2)}×`,
    ];
    rows.push(row);
    log(row.join('  |  '));
    for (const x of [gram, power, cold, lanczos, mlp]) x.destroy();
  }
  return {
    id: 'ntk',
    title: 'NTK',
    description:
      `${provenance()} K of 128 examples: structured method (median of 3, GPU time) against Jacobian contraction (one run: ` +
      'per-example gradients materialized in chunks of 4M floats), and their relative Frobenius difference. λ_max: cold-started power ' +
      'iteration to a relative change of 1e-6 (wall time, readbacks every 10 iterations). Top 5: Lanczos with full reorthogonalization ' +
      '(wall time). Training step: SGD at batch 32 on synthetic d = 3072 data, wall time per step, without tracking and with the NTK of ' +
      'the batch and of 128 fixed points every step (20 warm-started power iterations each, and the loss split), medians of 5 alternating ' +
      'runs of 4 steps. "flop bound": the least tracking can cost, (plain step + forward pass of the 128 points) / plain step, in flops.',
    columns: ['network (n = 128, d = 3072)', 'K structured ms', 'K by J·Jᵀ ms', 'speed-up', 'rel. difference', 'λ_max ms', 'top-5 ms', 'train step ms', 'tracked step ms', 'tracking overhead', 'flop bound'],
    rows,
  };
}
