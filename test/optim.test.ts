import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/data/random.ts';
import type { Gpu } from '../src/gpu/gpu.ts';
import { Optimizer, resolveOptimizer, type OptimizerConfig, type ParameterSet } from '../src/optim/optimizer.ts';
import { OptimizerRef } from '../src/ref/optim.ts';
import { releaseTestGpu, testGpu } from './gpu.ts';

afterAll(releaseTestGpu);

const U = 2 ** -24;
const SIZE = 256;
// Two trainable tensors; floats 150..255 stand for a frozen layer and padding: never updated.
const TENSORS = [
  { offset: 0, count: 100 },
  { offset: 128, count: 22 },
];
const trainable = (i: number) => TENSORS.some((t) => i >= t.offset && i < t.offset + t.count);

function parameterSet(gpu: Gpu, init: Float32Array): ParameterSet {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const params = gpu.createBuffer({ label: 'params', size: SIZE * 4, usage });
  const grads = gpu.createBuffer({ label: 'grads', size: SIZE * 4, usage });
  gpu.write(params, init);
  return { params, grads, size: SIZE, tensors: TENSORS };
}

const CONFIGS: [OptimizerConfig, number][] = [
  [{ name: 'gd' }, 0.5],
  [{ name: 'sgd', momentum: 0.9 }, 0.1],
  [{ name: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 0.01 }, 0.1],
  [{ name: 'sgd', momentum: 0.5, dampening: 0.3 }, 0.1],
  [{ name: 'rmsprop' }, 0.01],
  [{ name: 'rmsprop', momentum: 0.8, centered: true, weightDecay: 0.1 }, 0.01],
  [{ name: 'adagrad', lrDecay: 0.1, initialAccumulatorValue: 0.5 }, 0.1],
  [{ name: 'adadelta' }, 1],
  [{ name: 'adam' }, 1e-2],
  [{ name: 'adam', amsgrad: true, weightDecay: 0.05, betas: [0.8, 0.99] }, 1e-2],
];

async function run(gpu: Gpu, opt: Optimizer, set: ParameterSet, grads: Float32Array[], lrs: number[]) {
  for (let t = 0; t < grads.length; t++) {
    gpu.write(set.grads, grads[t]);
    const step = gpu.step('optimizer step');
    await opt.record(step, lrs[t]);
    gpu.submit(step);
  }
  return gpu.read(set.params);
}

describe('optimizers against the float64 reference of torch.optim', () => {
  for (const [config, lr0] of CONFIGS) {
    it(`${JSON.stringify(config)} over 6 steps with a changing rate`, async () => {
      const gpu = await testGpu();
      const rng = new Rng(3);
      const init = rng.uniformArray(SIZE);
      const steps = 6;
      const grads = Array.from({ length: steps }, () => rng.uniformArray(SIZE));
      const lrs = Array.from({ length: steps }, (_, t) => lr0 * (1 + 0.25 * t));
      const set = parameterSet(gpu, init);
      const opt = new Optimizer(gpu, set, config);
      const got = await run(gpu, opt, set, grads, lrs);

      const ref = new OptimizerRef(resolveOptimizer(config), Float64Array.from(init));
      for (let t = 0; t < steps; t++) ref.step(grads[t], lrs[t]);
      for (let i = 0; i < SIZE; i++) {
        if (!trainable(i)) expect(got[i], `frozen float ${i}`).toBe(init[i]);
        // A few float32 roundings per step, each relative to the values involved.
        else expect(Math.abs(got[i] - ref.params[i]), `param ${i}`).toBeLessThanOrEqual(16 * U * steps * (1 + Math.abs(ref.params[i])));
      }
      expect(opt.stepCount).toBe(steps);
      opt.destroy();
    });
  }

  it('resumes from exported state exactly as if never interrupted', async () => {
    const gpu = await testGpu();
    const config: OptimizerConfig = { name: 'adam', amsgrad: true };
    const rng = new Rng(4);
    const init = rng.uniformArray(SIZE);
    const grads = Array.from({ length: 6 }, () => rng.uniformArray(SIZE));
    const lrs = grads.map(() => 0.01);

    const straightSet = parameterSet(gpu, init);
    const straight = await run(gpu, new Optimizer(gpu, straightSet, config), straightSet, grads, lrs);

    const firstSet = parameterSet(gpu, init);
    const first = new Optimizer(gpu, firstSet, config);
    const half = await run(gpu, first, firstSet, grads.slice(0, 3), lrs);
    const state = await first.exportState();
    expect(Object.keys(state.buffers)).toEqual(['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq']);
    expect(state.step).toBe(3);
    const resumedSet = parameterSet(gpu, half);
    const resumed = new Optimizer(gpu, resumedSet, config);
    resumed.importState(state);
    const end = await run(gpu, resumed, resumedSet, grads.slice(3), lrs);
    expect(new Uint32Array(end.buffer)).toEqual(new Uint32Array(straight.buffer));
  });

  it('refuses hyperparameters torch.optim refuses, naming them', () => {
    expect(() => resolveOptimizer({ name: 'sgd', nesterov: true })).toThrow(/nesterov needs momentum > 0 and dampening = 0/);
    expect(() => resolveOptimizer({ name: 'adam', betas: [0.9, 1] })).toThrow(/optimizer.betas\[1\] must be a finite number >= 0 and < 1, got 1/);
    expect(() => resolveOptimizer({ name: 'adam', betas: [0.9] as never })).toThrow(/optimizer.betas must be two numbers/);
    expect(() => resolveOptimizer({ name: 'adam', eps: '1e-8' as never })).toThrow(/optimizer.eps must be a finite number >= 0, got "1e-8"/);
    expect(() => resolveOptimizer({ name: 'adam', amsgrad: 'yes' as never })).toThrow(/optimizer.amsgrad must be true or false, got "yes"/);
    expect(() => resolveOptimizer({ name: 'rmsprop', momentum: -1 })).toThrow(/optimizer.momentum must be a finite number >= 0, got -1/);
    expect(() => resolveOptimizer({ name: 'lbfgs' as never })).toThrow(/optimizer.name must be one of gd, sgd, rmsprop, adagrad, adadelta, adam/);
  });
});
