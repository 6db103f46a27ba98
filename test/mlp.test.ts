import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/data/random.ts';
import { initParams, mlpLayout, MLP_DEFAULTS, type MlpConfig } from '../src/nn/layout.ts';
import { Mlp } from '../src/nn/mlp.ts';
import { mlpBackwardRef, mlpForwardRef, mseRef, softmaxCrossEntropyRef } from '../src/ref/mlp.ts';
import { releaseTestGpu, testGpu } from './gpu.ts';
import { relErr, U } from './numeric.ts';

afterAll(releaseTestGpu);

const config = (over: Partial<MlpConfig> = {}): MlpConfig => ({
  ...MLP_DEFAULTS,
  inputDim: 13,
  hidden: [17, 9],
  outputs: 3,
  seed: 4,
  ...over,
});

/**
 * Relative tolerance for a pass through the network in float32: rounding errors grow with each reduction,
 * so the bound is a small multiple of u times the sum of the reduction lengths (fan-ins, batch).
 */
const tolerance = (c: MlpConfig, b: number) => 8 * U * ([c.inputDim, ...c.hidden, c.outputs].reduce((s, w) => s + w, 0) + b);

describe('float64 reference network', () => {
  it('has gradients that match central differences of the loss', () => {
    for (const parameterization of ['ntk', 'standard'] as const) {
      const c = config({ parameterization, outputBias: 0.5, frozen: [1] });
      const layout = mlpLayout(c);
      const params = Float64Array.from(initParams(c, layout));
      const rng = new Rng(8);
      const b = 5;
      const x = rng.uniformArray(b * c.inputDim);
      const y = rng.uniformArray(b * c.outputs);
      const loss = (p: Float64Array, xx: ArrayLike<number> = x) => mseRef(mlpForwardRef(layout, p, xx, b).acts[layout.layers.length], y, b);
      const fwd = mlpForwardRef(layout, params, x, b);
      const f = fwd.acts[layout.layers.length];
      const seed = f.map((v, i) => (2 / b) * (v - y[i]));
      const { grads, inputGrad } = mlpBackwardRef(layout, params, fwd, seed);
      const h = 1e-6;
      for (const L of layout.layers) {
        const indices = [L.weightOffset, L.weightOffset + L.fanIn * L.fanOut - 1, ...(L.biasOffset >= 0 ? [L.biasOffset] : [])];
        for (const i of indices) {
          const up = params.slice();
          const down = params.slice();
          up[i] += h;
          down[i] -= h;
          const fd = (loss(up) - loss(down)) / (2 * h);
          // Frozen layers report zero; the others match the loss's slope.
          expect(grads[i], `${parameterization} layer ${L.index} param ${i}`).toBeCloseTo(L.frozen ? 0 : fd, 6);
        }
      }
      for (const i of [0, 7, b * c.inputDim - 1]) {
        const up = Float64Array.from(x);
        const down = Float64Array.from(x);
        up[i] += h;
        down[i] -= h;
        expect(inputGrad[i], `${parameterization} input ${i}`).toBeCloseTo((loss(params, up) - loss(params, down)) / (2 * h), 6);
      }
    }
  });
});

describe('network on the GPU', () => {
  it('initializes as configured: NTK weights N(0, σ²) and zero biases, PyTorch bounds for standard', () => {
    const c = config({ inputDim: 200, hidden: [300], outputs: 1, sigma: 0.1 });
    const layout = mlpLayout(c);
    const p = initParams(c, layout);
    const W = p.subarray(layout.layers[0].weightOffset, layout.layers[0].weightOffset + 200 * 300);
    const mean = W.reduce((s, v) => s + v, 0) / W.length;
    const sd = Math.sqrt(W.reduce((s, v) => s + (v - mean) ** 2, 0) / W.length);
    expect(Math.abs(mean)).toBeLessThan(0.1 * 5 / Math.sqrt(W.length));
    expect(Math.abs(sd - 0.1)).toBeLessThan(0.002);
    expect(p.subarray(layout.layers[0].biasOffset, layout.layers[0].biasOffset + 300).every((v) => v === 0)).toBe(true);
    const s = config({ parameterization: 'standard', inputDim: 200, hidden: [300], outputs: 1 });
    const ps = initParams(s, mlpLayout(s));
    expect(Math.max(...ps.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(200));
    expect(initParams(c)).toEqual(p); // seeded
  });

  it('refuses configurations it cannot build, naming the field', () => {
    expect(() => mlpLayout(config({ hidden: [4, 0] }))).toThrow(/model.hidden\[1\] must be an integer >= 1, got 0/);
    expect(() => mlpLayout(config({ parameterization: 'mup' as never }))).toThrow(/model.parameterization must be "ntk" or "standard"/);
    expect(() => mlpLayout(config({ frozen: [3] }))).toThrow(/model.frozen: layer 3 does not exist \(layers 0..2\)/);
    expect(() => mlpLayout(config({ outputBias: -1 }))).toThrow(/model.outputBias must be >= 0/);
  });

  for (const [name, over, b] of [
    ['NTK, biases on every layer', { outputBias: 0.5 }, 7],
    ['NTK, no output bias, second layer frozen', { frozen: [1] }, 10],
    ['standard parameterization', { parameterization: 'standard', outputBias: 1 }, 1],
    ['wide, float4-aligned shapes', { inputDim: 100, hidden: [256], outputs: 1 }, 32],
  ] as [string, Partial<MlpConfig>, number][]) {
    it(`matches the float64 reference: forward, MSE loss, parameter and input gradients (${name}, batch ${b})`, async () => {
      const gpu = await testGpu();
      const c = config(over);
      const net = new Mlp(gpu, c);
      const rng = new Rng(21);
      const x = rng.uniformArray(b * c.inputDim);
      const y = rng.uniformArray(b * c.outputs);
      const X = gpu.matrix('X', b, c.inputDim, x);
      const Y = gpu.matrix('Y', b, c.outputs, y);
      const dX = gpu.matrix('dX', b, c.inputDim);
      const loss = gpu.matrix('loss', 2, 1);
      const step = gpu.step('train step');
      const F = await net.forward(step, X);
      const seed = await net.mse(step, Y, loss.buffer, 1);
      await net.backward(step, X, seed, dX);
      gpu.submit(step);

      const params = await net.readParams();
      const fwd = mlpForwardRef(net.layout, params, x, b);
      const f = fwd.acts[net.depth];
      const ref = mlpBackwardRef(net.layout, params, fwd, f.map((v, i) => (2 / b) * (v - y[i])));
      const tol = tolerance(c, b);
      expect(relErr(await gpu.read(F), f)).toBeLessThan(tol);
      const [, sumsq] = await gpu.read(loss);
      expect(Math.abs(sumsq / b - mseRef(f, y, b)) / mseRef(f, y, b)).toBeLessThan(tol);
      const grads = await net.readGrads();
      for (const L of net.layout.layers) {
        const w = [L.weightOffset, L.weightOffset + L.fanIn * L.fanOut] as const;
        if (L.frozen) expect(grads.subarray(...w).every((v) => v === 0)).toBe(true);
        else expect(relErr(grads.subarray(...w), ref.grads.subarray(...w)), `∇W of layer ${L.index}`).toBeLessThan(tol);
        if (L.biasOffset >= 0 && !L.frozen) {
          const r = [L.biasOffset, L.biasOffset + L.fanOut] as const;
          expect(relErr(grads.subarray(...r), ref.grads.subarray(...r)), `∇b of layer ${L.index}`).toBeLessThan(tol);
        }
      }
      expect(relErr(await gpu.read(dX), ref.inputGrad)).toBeLessThan(tol);
      net.destroy();
    });
  }

  it('computes softmax cross-entropy, accuracy and its gradient like the float64 reference', async () => {
    const gpu = await testGpu();
    const c = config({ inputDim: 20, hidden: [30], outputs: 10, outputBias: 1 });
    const net = new Mlp(gpu, c);
    const rng = new Rng(31);
    const b = 70;
    const x = rng.uniformArray(b * 20, -3, 3);
    const y = new Float32Array(b * 10);
    for (let r = 0; r < b; r++) y[r * 10 + rng.int(10)] = 1;
    const X = gpu.matrix('X', b, 20, x);
    const Y = gpu.matrix('Y', b, 10, y);
    const out = gpu.matrix('out', 4, 1);
    const step = gpu.step('xent');
    await net.forward(step, X);
    const seed = await net.crossEntropy(step, Y, out.buffer, 1, 3);
    await net.backward(step, X, seed);
    gpu.submit(step);
    const params = await net.readParams();
    const fwd = mlpForwardRef(net.layout, params, x, b);
    const ref = softmaxCrossEntropyRef(fwd.acts[net.depth], y, b, 10);
    const [, lossSum, , correct] = await gpu.read(out);
    const tol = tolerance(c, b);
    expect(Math.abs(lossSum / b - ref.loss) / ref.loss).toBeLessThan(tol);
    expect(correct / b).toBe(ref.accuracy);
    expect(relErr(await gpu.read(seed), ref.seed)).toBeLessThan(tol);
    const grads = mlpBackwardRef(net.layout, params, fwd, ref.seed).grads;
    expect(relErr(await net.readGrads(), grads)).toBeLessThan(tol);
    net.destroy();
  });

  it('gives the same bits for the same seed twice', async () => {
    const gpu = await testGpu();
    const run = async () => {
      const c = config({ outputBias: 1 });
      const net = new Mlp(gpu, c);
      const rng = new Rng(5);
      const X = gpu.matrix('X', 6, c.inputDim, rng.uniformArray(6 * c.inputDim));
      const Y = gpu.matrix('Y', 6, c.outputs, rng.uniformArray(6 * c.outputs));
      const loss = gpu.matrix('loss', 1, 1);
      const step = gpu.step('s');
      await net.forward(step, X);
      await net.backward(step, X, await net.mse(step, Y, loss.buffer, 0));
      gpu.submit(step);
      const out = [...(await net.readGrads()), ...(await gpu.read(loss))];
      net.destroy();
      return new Uint32Array(Float32Array.from(out).buffer);
    };
    expect(await run()).toEqual(await run());
  });

  it('refuses a batch of the wrong width', async () => {
    const gpu = await testGpu();
    const net = new Mlp(gpu, config());
    await expect(net.forward(gpu.step('s'), gpu.matrix('X', 2, 12))).rejects.toThrow(/takes 13 inputs per example, X has 12 columns/);
    net.destroy();
  });
});
