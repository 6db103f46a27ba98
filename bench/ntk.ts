// NTK benchmark at the paper's Fig. 3 size (n = 128, d = 3072, width 1024; synthetic inputs, CIFAR is not
// bundled): time to form K by the structured method and by Jacobian contraction, the speed-up, λ_max by
// power iteration and the top-5 eigenpairs by Lanczos, and a training step (batch 32) with and without
// full tracking (NTK of the batch and of 128 fixed points every step). Usage: npm run bench:ntk
import { perExampleGradients } from '../shaders/ntk.ts';
import { addInPlace } from '../shaders/lincomb.ts';
import { readDataFile } from '../src/cli/data-files.ts';
import { benchSetup } from './args.ts';
import { Rng } from '../src/data/random.ts';
import { describeAdapter, type Gpu } from '../src/gpu/gpu.ts';
import { timeStep } from '../src/gpu/timing.ts';
import { MLP_DEFAULTS } from '../src/nn/layout.ts';
import { Mlp } from '../src/nn/mlp.ts';
import { NtkGram } from '../src/ntk/gram.ts';
import { Lanczos, PowerIteration } from '../src/ntk/spectrum.ts';
import { Trainer, type TrainConfig } from '../src/run/train.ts';
import { codeVersion, markdownTable, writeSection } from './results-file.ts';

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

async function trainStepMs(gpu: Gpu, hidden: number[], tracked: boolean, steps = 4): Promise<number> {
  const config: TrainConfig = {
    data: { kind: 'synthetic', task: 'rank-2', d: D, train: 256, noise: 0.1 },
    model: { hidden },
    loss: 'mse',
    optimizer: { name: 'sgd' },
    schedule: { kind: 'constant', lr: 0.1 },
    batchSize: 32,
    steps,
    readbackEvery: steps,
    divergeAbove: Infinity,
    seed: 0,
    ...(tracked ? { tracking: { batch: { iterations: 20 }, set: { examples: N, iterations: 20 } } } : {}),
  };
  const trainer = await Trainer.create(gpu, config, readDataFile);
  await trainer.trainStep(0); // compiles every pipeline the step uses
  await gpu.read(trainer.net.params, 0, 4);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await trainer.trainStep(i);
  await gpu.read(trainer.net.params, 0, 4);
  const t = (performance.now() - t0) / steps;
  trainer.destroy();
  return t;
}

async function main() {
  const { gpu, out } = await benchSetup();
  const adapter = describeAdapter(gpu.adapter);
  const rows: (string | number)[][] = [];
  for (const net of NETS) {
    const mlp = new Mlp(gpu, { ...MLP_DEFAULTS, inputDim: D, hidden: net.hidden, outputs: 1, seed: 1 });
    const gram = new NtkGram(gpu, mlp);
    const X = gpu.matrix('X', N, D, new Rng(2).uniformArray(N * D, -1, 1));
    const Ks = gpu.matrix('K structured', N, N);
    const Kj = gpu.matrix('K jacobian', N, N);
    const structured = await timeStep(gpu, (s) => gram.structured(s, X, Ks), { warmup: 1, minReps: 3 });
    await gpu.prepare([perExampleGradients, addInPlace]);
    // Jacobian contraction is slow by design (it is the check): one timed run, pipelines compiled before.
    const jacobian = await timeStep(gpu, (s) => gram.jacobian(s, X, Kj), { warmup: 0, minReps: 1 });
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
    const plain = await trainStepMs(gpu, net.hidden, false);
    const tracked = await trainStepMs(gpu, net.hidden, true);
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
    ];
    rows.push(row);
    console.log(row.join('  |  '));
    for (const x of [gram, power, cold, lanczos, mlp]) x.destroy();
  }
  const table = markdownTable(
    ['network (n = 128, d = 3072)', 'K structured ms', 'K by J·Jᵀ ms', 'speed-up', 'rel. difference', 'λ_max ms', 'top-5 ms', 'train step ms', 'tracked step ms', 'tracking overhead'],
    rows,
  );
  const body = [
    `## NTK on ${adapter}`,
    '',
    `Measured ${new Date().toISOString().slice(0, 10)}, code ${codeVersion()}, Node ${process.version}. K of 128 examples: structured method ` +
      '(median of 3, GPU time) against Jacobian contraction (one run: per-example gradients materialized in chunks of 4M floats), and their ' +
      'relative Frobenius difference. λ_max: cold-started power iteration to a relative change of 1e-6 (wall time, readbacks every 10 ' +
      'iterations). Top 5: Lanczos with full reorthogonalization (wall time). Training step: SGD at batch 32 on synthetic d = 3072 data, wall ' +
      'time per step, without tracking and with the NTK of the batch and of 128 fixed points every step (20 warm-started power iterations ' +
      'each, and the loss split).' + (gpu.adapter.note ? ` ${gpu.adapter.note}.` : ''),
    '',
    table,
  ].join('\n');
  writeSection(out, 'ntk', gpu.adapter, body);
  console.log(`written to ${out}`);
  gpu.destroy();
}

await main();
