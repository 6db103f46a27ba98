// Training-step benchmark: steps per second and achieved GFLOP/s of whole training steps (gather, forward,
// loss, backward, optimizer update, as the runner records them) beside the float64 reference's time for the
// same step. Usage: npm run bench:train [-- --adapter A --out FILE]
import { readDataFile } from '../src/cli/data-files.ts';
import { Rng } from '../src/data/random.ts';
import type { Gpu } from '../src/gpu/gpu.ts';
import { layersLayout } from '../src/nn/graph.ts';
import { isParamLayer } from '../src/nn/layer.ts';
import { modelLayers, type FcnModel } from '../src/nn/models.ts';
import { shapeSize } from '../src/nn/network.ts';
import { initParams } from '../src/nn/params.ts';
import { backwardRef, forwardRef } from '../src/ref/network.ts';
import { Trainer, type TrainConfig } from '../src/run/train.ts';
import { provenance, type BenchTable } from './results-file.ts';

interface Case {
  label: string;
  config: TrainConfig;
  /** Examples per step and input width, for the FLOP count and the reference. */
  b: number;
  d: number;
  steps: number;
}

const CASES: Case[] = [
  {
    label: '(a) 2-layer, width 1024, rank-2, d = 100, GD on n = 2000',
    config: {
      data: { kind: 'synthetic', task: 'rank-2', d: 100, train: 2000 },
      model: { hidden: [1024] },
      loss: 'mse',
      optimizer: { name: 'gd' },
      schedule: { kind: 'constant', lr: 1 },
      batchSize: 'full',
      steps: 0,
      seed: 0,
    },
    b: 2000,
    d: 100,
    steps: 5,
  },
  {
    label: '(b) 5-layer, width 1024, d = 784 (MNIST), SGD batch 128',
    config: {
      data: { kind: 'mnist', train: 8192 },
      model: { hidden: [1024, 1024, 1024, 1024] },
      loss: 'mse',
      optimizer: { name: 'sgd' },
      schedule: { kind: 'constant', lr: 0.1 },
      batchSize: 128,
      steps: 0,
      seed: 0,
    },
    b: 128,
    d: 784,
    steps: 5,
  },
];

/** Multiply-adds ×2 of one step of a fully connected net: forward and weight gradients, and backward products but the first layer's. */
function stepFlops(model: FcnModel, d: number, k: number, b: number): number {
  return modelLayers(model, [d, 1, 1], k)
    .filter(isParamLayer)
    .reduce((s, l, i) => s + 2 * b * shapeSize(l.inShape) * shapeSize(l.outShape) * (i === 0 ? 2 : 3), 0);
}

async function timeTraining(gpu: Gpu, c: Case): Promise<{ msPerStep: number }> {
  // A first, one-step run compiles every pipeline; the timed run then finds them in the cache.
  const warm = await Trainer.create(gpu, { ...c.config, steps: 1, evalEvery: 0 }, readDataFile);
  await warm.run();
  warm.destroy();
  const trainer = await Trainer.create(gpu, { ...c.config, steps: c.steps, readbackEvery: c.steps, evalEvery: 0, divergeAbove: 1e30 }, readDataFile);
  // Data upload and the final evaluation are outside the loop we time: steps only, read back once at the end.
  await gpu.done();
  const t0 = performance.now();
  for (let i = 0; i < c.steps; i++) await trainer.trainStep(i);
  await gpu.read(trainer.net.params, 0, 4);
  const ms = (performance.now() - t0) / c.steps;
  trainer.destroy();
  return { msPerStep: ms };
}

function referenceStepMs(model: FcnModel, d: number, k: number, b: number): number {
  const layers = modelLayers(model, [d, 1, 1], k);
  const net = { layers, layout: layersLayout(layers) };
  const params = initParams(net.layout, 0);
  const x = new Rng(1).uniformArray(b * d);
  const t0 = performance.now();
  const fwd = forwardRef(net, params, x, b);
  backwardRef(net, params, fwd, new Float64Array(b * k).fill(1 / b));
  return performance.now() - t0;
}

/** Wall time of whole training steps beside the float64 reference's forward and backward. */
export async function trainTable(gpu: Gpu, options: { log?: (line: string) => void } = {}): Promise<BenchTable> {
  const log = options.log ?? console.log;
  const rows: (string | number)[][] = [];
  for (const c of CASES) {
    const k = c.config.data.kind === 'mnist' ? 10 : 1;
    const model = c.config.model as FcnModel;
    const flops = stepFlops(model, c.d, k, c.b);
    const { msPerStep } = await timeTraining(gpu, c);
    const ref = referenceStepMs(model, c.d, k, c.b);
    const row = [c.label, msPerStep.toFixed(1), (1000 / msPerStep).toFixed(2), (flops / (msPerStep * 1e6)).toFixed(2), ref.toFixed(0), `${(ref / msPerStep).toFixed(1)}×`];
    rows.push(row);
    log(row.join('  |  '));
  }
  return {
    id: 'train',
    title: 'Training steps',
    description:
      `${provenance()} Wall time of ${CASES[0].steps} consecutive steps ` +
      '(batch gather, forward, loss, backward, optimizer update; each step one command encoder) with one readback at the end, ' +
      'after a warm-up run that compiles the pipelines. GFLOP/s counts the products: forward, weight gradients and the ' +
      'backward products (2·b·fan_in·fan_out each). The float64 reference is src/ref/mlp.ts on the CPU, forward and backward only.',
    columns: ['case', 'ms / step', 'steps / s', 'GFLOP/s', 'float64 ref ms / step', 'speed-up'],
    rows,
  };
}
