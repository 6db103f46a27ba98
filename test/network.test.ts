import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/data/random.ts';
import { LossHeads } from '../src/nn/loss.ts';
import { modelLayers } from '../src/nn/models.ts';
import { initParams } from '../src/nn/params.ts';
import { classifyRef, mseRef, softmaxCrossEntropyRef } from '../src/ref/loss.ts';
import { backwardRef, forwardRef } from '../src/ref/network.ts';
import { releaseTestGpu, testGpu } from './gpu.ts';
import { fcnNet, fcnRef, type FcnTestConfig } from './nets.ts';
import { relErr, U } from './numeric.ts';

afterAll(releaseTestGpu);

const config = (over: Partial<FcnTestConfig> = {}): FcnTestConfig => ({ inputDim: 13, hidden: [17, 9], outputs: 3, seed: 4, ...over });

/**
 * Relative tolerance for a pass through the network in float32: rounding errors grow with each reduction,
 * so the bound is a small multiple of u times the sum of the reduction lengths (fan-ins, batch).
 */
const tolerance = (c: FcnTestConfig, b: number) => 8 * U * ([c.inputDim, ...c.hidden, c.outputs].reduce((s, w) => s + w, 0) + b);

describe('float64 reference network', () => {
  it('has gradients that match central differences of the loss', () => {
    for (const parameterization of ['ntk', 'standard'] as const) {
      const c = config({ parameterization, outputBias: 0.5, frozen: [1] });
      const net = fcnRef(c);
      const params = Float64Array.from(initParams(net.layout, c.seed));
      const rng = new Rng(8);
      const b = 5;
      const x = rng.uniformArray(b * c.inputDim);
      const y = rng.uniformArray(b * c.outputs);
      const out = (p: ArrayLike<number>, xx: ArrayLike<number> = x) => forwardRef(net, p, xx, b).outputs.at(-1)!;
      const loss = (p: Float64Array, xx: ArrayLike<number> = x) => mseRef(out(p, xx), y, b);
      const fwd = forwardRef(net, params, x, b);
      const f = fwd.outputs.at(-1)!;
      const { grads, inputGrad } = backwardRef(net, params, fwd, f.map((v, i) => (2 / b) * (v - y[i])));
      const h = 1e-6;
      for (const t of net.layout.tensors) {
        for (const i of [t.offset, t.offset + t.count - 1]) {
          const up = params.slice();
          const down = params.slice();
          up[i] += h;
          down[i] -= h;
          const fd = (loss(up) - loss(down)) / (2 * h);
          // Frozen layers report zero; the others match the loss's slope.
          expect(grads[i], `${parameterization} ${t.name} [${i - t.offset}]`).toBeCloseTo(t.frozen ? 0 : fd, 6);
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

describe('fully connected network on the GPU', () => {
  it('names its tensors as before (layers.{l}.weight [out, in]) and initializes them as configured', () => {
    const c = config({ inputDim: 200, hidden: [300], outputs: 1, sigma: 0.1 });
    const ref = fcnRef(c);
    expect(ref.layout.tensors.map((t) => `${t.name} [${t.shape}]`)).toEqual(['layers.0.weight [300,200]', 'layers.0.bias [300]', 'layers.1.weight [1,300]']);
    const p = initParams(ref.layout, c.seed);
    const w = ref.layout.tensors[0];
    const W = p.subarray(w.offset, w.offset + w.count);
    const mean = W.reduce((s, v) => s + v, 0) / W.length;
    const sd = Math.sqrt(W.reduce((s, v) => s + (v - mean) ** 2, 0) / W.length);
    expect(Math.abs(mean)).toBeLessThan((0.1 * 5) / Math.sqrt(W.length));
    expect(Math.abs(sd - 0.1)).toBeLessThan(0.002);
    const bias = ref.layout.tensors[1];
    expect(p.subarray(bias.offset, bias.offset + bias.count).every((v) => v === 0)).toBe(true);
    const std = fcnRef(config({ parameterization: 'standard', inputDim: 200, hidden: [300], outputs: 1 }));
    expect(Math.max(...initParams(std.layout, 4).map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(200));
    expect(initParams(ref.layout, c.seed)).toEqual(p); // seeded
  });

  it('refuses configurations it cannot build, naming the field', () => {
    const layers = ({ inputDim, outputs, seed: _seed, ...model }: FcnTestConfig) => modelLayers(model, [inputDim, 1, 1], outputs);
    expect(() => layers(config({ hidden: [4, 0] }))).toThrow(/model.hidden\[1\] must be an integer >= 1, got 0/);
    expect(() => layers(config({ parameterization: 'mup' as never }))).toThrow(/model.parameterization must be "ntk" or "standard"/);
    expect(() => layers(config({ frozen: [3] }))).toThrow(/model.frozen: layer 3 does not exist \(parametrized layers 0..2\)/);
    expect(() => layers(config({ outputBias: -1 }))).toThrow(/model.outputBias must be a finite number >= 0/);
  });

  for (const [name, over, b] of [
    ['NTK, biases on every layer', { outputBias: 0.5 }, 7],
    ['NTK, no output bias, second layer frozen', { frozen: [1] }, 10],
    ['standard parameterization', { parameterization: 'standard', outputBias: 1 }, 1],
    ['wide, float4-aligned shapes', { inputDim: 100, hidden: [256], outputs: 1 }, 32],
  ] as [string, Partial<FcnTestConfig>, number][]) {
    it(`matches the float64 reference: forward, MSE loss, parameter and input gradients (${name}, batch ${b})`, async () => {
      const gpu = await testGpu();
      const c = config(over);
      const { net, ref } = fcnNet(gpu, c);
      const losses = new LossHeads(gpu, c.outputs);
      const rng = new Rng(21);
      const x = rng.uniformArray(b * c.inputDim);
      const y = rng.uniformArray(b * c.outputs);
      const X = gpu.matrix('X', b, c.inputDim, x);
      const Y = gpu.matrix('Y', b, c.outputs, y);
      const dX = gpu.matrix('dX', b, c.inputDim);
      const loss = gpu.matrix('loss', 2, 1);
      const step = gpu.step('train step');
      const tape = await net.forward(step, X);
      const { seed } = await losses.mse(step, tape.output, Y, loss.buffer, 1);
      await net.backward(step, tape, seed, { inputGrad: dX });
      gpu.submit(step);

      const params = await net.readParams();
      const fwd = forwardRef(ref, params, x, b);
      const f = fwd.outputs.at(-1)!;
      const want = backwardRef(ref, params, fwd, f.map((v, i) => (2 / b) * (v - y[i])));
      const tol = tolerance(c, b);
      expect(relErr(await gpu.read(tape.output), f)).toBeLessThan(tol);
      const [, sumsq] = await gpu.read(loss);
      expect(Math.abs(sumsq / b - mseRef(f, y, b)) / mseRef(f, y, b)).toBeLessThan(tol);
      const grads = await net.readGrads();
      for (const t of net.layout.tensors) {
        const r = [t.offset, t.offset + t.count] as const;
        if (t.frozen) expect(grads.subarray(...r).every((v) => v === 0), t.name).toBe(true);
        else expect(relErr(grads.subarray(...r), want.grads.subarray(...r)), `∇ ${t.name}`).toBeLessThan(tol);
      }
      expect(relErr(await gpu.read(dX), want.inputGrad)).toBeLessThan(tol);
      losses.destroy();
      net.destroy();
    });
  }

  it('computes softmax cross-entropy, accuracy and its gradient like the float64 reference', async () => {
    const gpu = await testGpu();
    const c = config({ inputDim: 20, hidden: [30], outputs: 10, outputBias: 1 });
    const { net, ref } = fcnNet(gpu, c);
    const losses = new LossHeads(gpu, 10);
    const rng = new Rng(31);
    const b = 70;
    const x = rng.uniformArray(b * 20, -3, 3);
    const y = new Float32Array(b * 10);
    for (let r = 0; r < b; r++) y[r * 10 + rng.int(10)] = 1;
    const X = gpu.matrix('X', b, 20, x);
    const Y = gpu.matrix('Y', b, 10, y);
    const out = gpu.matrix('out', 4, 1);
    const step = gpu.step('xent');
    const tape = await net.forward(step, X);
    const { seed } = await losses.crossEntropy(step, tape.output, Y, out.buffer, 1, 3);
    await net.backward(step, tape, seed);
    gpu.submit(step);
    const params = await net.readParams();
    const fwd = forwardRef(ref, params, x, b);
    const want = softmaxCrossEntropyRef(fwd.outputs.at(-1)!, y, b, 10);
    const [, lossSum, , correct] = await gpu.read(out);
    const tol = tolerance(c, b);
    expect(Math.abs(lossSum / b - want.loss) / want.loss).toBeLessThan(tol);
    expect(correct / b).toBe(want.accuracy);
    expect(relErr(await gpu.read(seed), want.seed)).toBeLessThan(tol);
    expect(relErr(await net.readGrads(), backwardRef(ref, params, fwd, want.seed).grads)).toBeLessThan(tol);
    net.destroy();
  });

  it('counts the examples an MSE output classifies right: ±1 targets by sign, one-hot by argmax', async () => {
    const gpu = await testGpu();
    const rng = new Rng(32);
    // 77 and 130 rows: not multiples of the 64-wide workgroup; k = 10 with ties in the outputs.
    for (const [b, k] of [[77, 1], [130, 10]]) {
      const losses = new LossHeads(gpu, k);
      const f = rng.uniformArray(b * k, -1, 1).map((v) => Math.round(v * 4) / 4);
      const y = new Float32Array(b * k);
      for (let r = 0; r < b; r++) {
        if (k === 1) y[r] = rng.int(2) ? 1 : -1;
        else y[r * k + rng.int(k)] = 1;
      }
      const F = gpu.matrix('F', b, k, f);
      const Y = gpu.matrix('Y', b, k, y);
      const out = gpu.matrix('out', 2, 1);
      const step = gpu.step('correct');
      await losses.correct(step, F, Y, out.buffer, 1);
      gpu.submit(step);
      const correct = (await gpu.read(out))[1];
      const want = classifyRef(f, y, b, k);
      expect(want).toBeGreaterThan(0.02);
      expect(want).toBeLessThan(0.98);
      expect(correct / b).toBe(want);
      losses.destroy();
    }
  });

  it('gives the same bits for the same seed twice', async () => {
    const gpu = await testGpu();
    const run = async () => {
      const c = config({ outputBias: 1 });
      const { net } = fcnNet(gpu, c);
      const losses = new LossHeads(gpu, c.outputs);
      const rng = new Rng(5);
      const X = gpu.matrix('X', 6, c.inputDim, rng.uniformArray(6 * c.inputDim));
      const Y = gpu.matrix('Y', 6, c.outputs, rng.uniformArray(6 * c.outputs));
      const loss = gpu.matrix('loss', 1, 1);
      const step = gpu.step('s');
      const tape = await net.forward(step, X);
      await net.backward(step, tape, (await losses.mse(step, tape.output, Y, loss.buffer, 0)).seed);
      gpu.submit(step);
      const out = [...(await net.readGrads()), ...(await gpu.read(loss))];
      net.destroy();
      return new Uint32Array(Float32Array.from(out).buffer);
    };
    expect(await run()).toEqual(await run());
  });

  it('refuses a batch of the wrong width, and a tape whose activations a later pass overwrote', async () => {
    const gpu = await testGpu();
    const { net } = fcnNet(gpu, config());
    await expect(net.forward(gpu.step('s'), gpu.matrix('X', 2, 12))).rejects.toThrow(/takes 13 inputs per example \(13\), X has 12 columns/);
    const step = gpu.step('s');
    const first = await net.forward(step, gpu.matrix('X', 4, 13));
    await net.forward(step, gpu.matrix('X2', 4, 13));
    await expect(net.backward(step, first, gpu.matrix('seed', 4, 3))).rejects.toThrow(/stale tape: a later forward pass at batch size 4/);
    net.destroy();
  });
});
