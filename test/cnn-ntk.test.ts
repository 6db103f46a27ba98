// The NTK of convolutional nets: K by Jacobian contraction equals the float64 J·Jᵀ for any chunk size, the
// matrix-free product equals K·v, power iteration finds the float64 λ_max, and on a dense net all three methods
// (structured, jacobian, matrix-free) agree, as neural-tangents cross-checks its implementations; tracking during
// training (λ_max, the loss split, AGOP alignment) matches float64 for a CNN, a Wide ResNet and a ViT.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readDataFile } from '../src/cli/data-files.ts';
import { Rng } from '../src/data/random.ts';
import { alignment } from '../src/data/synthetic.ts';
import { checkpointParams, decodeCheckpoint } from '../src/run/checkpoint.ts';
import { Trainer, type TrainConfig } from '../src/run/train.ts';
import { backwardRef, forwardRef } from '../src/ref/network.ts';
import type { ModelConfig } from '../src/nn/models.ts';
import { shapeSize, type Shape } from '../src/nn/network.ts';
import { symmetricEigen } from '../src/ntk/eigen.ts';
import { NtkGram } from '../src/ntk/gram.ts';
import { MatrixFreeNtk } from '../src/ntk/matrix-free.ts';
import { ntkGraphRef } from '../src/ref/network.ts';
import { releaseTestGpu, testGpu } from './gpu.ts';
import { checkNtkMethods } from './net-checks.ts';
import { testNet } from './nets.ts';
import { relErr, U } from './numeric.ts';

afterAll(releaseTestGpu);

// Two 3×3 convolutions of 4 channels on 6×6×2 inputs, then a linear layer to 2 outputs.
const TINY: ModelConfig = { kind: 'graph', layers: [{ type: 'conv2d', out: 4, kernel: 3, padding: 1, bias: 0.5 }, { type: 'relu' }, { type: 'conv2d', out: 4, kernel: 3, stride: 2 }, { type: 'relu' }, { type: 'flatten' }, { type: 'linear', bias: 0.2 }] };
const INPUT: Shape = [2, 6, 6];
const N = 5;
const K_OUT = 2;

describe('NTK of a convolutional net', () => {
  it('by Jacobian contraction equals the float64 J·Jᵀ for every chunk size; the structured method refuses it, naming the layer', async () => {
    const gpu = await testGpu();
    const { net, ref } = testNet(gpu, TINY, INPUT, K_OUT, 21);
    const gram = new NtkGram(gpu, net);
    const d = shapeSize(INPUT);
    const x = new Rng(22).uniformArray(N * d, -1, 1);
    const X = gpu.matrix('X', N, d, x);
    const m = N * K_OUT;
    const want = ntkGraphRef(ref, await net.readParams(), x, N, K_OUT);
    const tol = 8 * U * (d * 9 + 4 * 9 * 9 + 36 + N);
    const results: Float32Array[] = [];
    // 1 << 22 floats: each site whole; 150: a unit at a time; 400: two or three units per chunk.
    for (const chunk of [1 << 22, 150, 400]) {
      const K = gpu.matrix('K', m, m);
      const step = gpu.step('jacobian');
      await gram.jacobian(step, X, K, chunk);
      gpu.submit(step);
      const got = await gpu.read(K);
      expect(relErr(got, want), `chunks of ${chunk} floats`).toBeLessThan(tol);
      results.push(got);
    }
    expect(relErr(results[1], results[0])).toBeLessThan(tol);
    expect(gram.structuredAvailable).toBe(false);
    await expect(gram.structured(gpu.step('s'), X, gpu.matrix('K', m, m))).rejects.toThrow(/the conv2d layer "0" has no structured NTK term: use the jacobian or matrix-free method/);
    // formed() takes the method the layers allow.
    expect(relErr(await gram.formed(X), want)).toBeLessThan(tol);
    gram.destroy();
    net.destroy();
  });

  it('matrix-free K·v equals K times v, and power iteration finds the float64 λ_max', () =>
    checkNtkMethods({ name: 'tiny CNN', model: TINY, input: INPUT, k: K_OUT, b: N, chunk: 150 }));
});

describe('the three NTK methods on a dense net', () => {
  it('structured, jacobian and matrix-free agree', async () => {
    const gpu = await testGpu();
    const { net } = testNet(gpu, { hidden: [12, 7], outputBias: 0.3 }, [9, 1, 1], 2, 31);
    const gram = new NtkGram(gpu, net);
    const n = 7;
    const m = n * 2;
    const X = gpu.matrix('X', n, 9, new Rng(32).uniformArray(n * 9, -1, 1));
    const Ks = gpu.matrix('Ks', m, m);
    const Kj = gpu.matrix('Kj', m, m);
    const step = gpu.step('both');
    await gram.structured(step, X, Ks);
    await gram.jacobian(step, X, Kj, 100);
    gpu.submit(step);
    const tol = 8 * U * (9 + 12 + 7 + 2 + n);
    const structured = await gpu.read(Ks);
    expect(relErr(await gpu.read(Kj), structured)).toBeLessThan(tol);
    // K·e_j by the matrix-free product is column j of the formed K.
    const op = new MatrixFreeNtk(gpu, net, X);
    const E = gpu.matrix('E', m, m, Float32Array.from({ length: m * m }, (_, e) => (Math.floor(e / m) === e % m ? 1 : 0)));
    const col = gpu.matrix('col', m, 1);
    const e = gpu.matrix('e', m, 1);
    const got: number[] = [];
    for (let j = 0; j < m; j++) {
      const s = gpu.step('column');
      s.copy(E.buffer, e.buffer, m * 4, j * m * 4, 0);
      await (await op.linearize(s)).apply(s, e, col);
      gpu.submit(s);
      got.push(...(await gpu.read(col)));
    }
    // got holds K's columns one after another: Kᵀ = K.
    expect(relErr(got, structured)).toBeLessThan(1e-5);
    op.destroy();
    gram.destroy();
    net.destroy();
  });

  for (const [name, model] of [
    ['a CNN', { kind: 'cnn', depth: 3, channels: 3, bias: 0.5 }],
    ['a Wide ResNet', { kind: 'wrn', depth: 10, widen: 1, bias: 0.5 }],
    ['a ViT', { kind: 'vit', dim: 8, patch: 1, depth: 1, heads: 2, bias: 0.5 }],
  ] as [string, ModelConfig][]) {
    it(`tracking ${name}: λ_max of the batch and the set, the loss split and AGOP alignment match float64 at the first step`, async () => {
      const gpu = await testGpu();
      const n = 12;
      const config = (seed: number, tracking?: TrainConfig['tracking']): TrainConfig => ({
        data: { kind: 'mnist', train: n, classes: [7, 9], targets: 'pm1', downsample: 4 },
        model,
        loss: 'mse',
        optimizer: { name: 'gd' },
        schedule: { kind: 'constant', lr: 0.1 },
        batchSize: 'full',
        steps: 2,
        seed,
        ...(tracking ? { tracking } : {}),
      });
      // The AGOP reference: the same architecture at another seed, as a checkpoint.
      const other = await Trainer.create(gpu, config(8), readDataFile);
      const path = join(mkdtempSync(join(tmpdir(), 'catapult-cnn-ref-')), 'reference.safetensors');
      const file = await other.checkpoint();
      writeFileSync(path, file);
      other.destroy();
      const trainer = await Trainer.create(gpu, config(5, { batch: { iterations: 300 }, set: { examples: n, iterations: 300 }, agop: { reference: path } }), readDataFile);
      const params = await trainer.net.readParams();
      const r0 = (await trainer.run()).records[0];
      const { x, y, d } = trainer.data.train;
      const layout = { layers: trainer.net.layers, layout: trainer.net.layout, inputs: trainer.net.inputs };
      const eig = symmetricEigen(ntkGraphRef(layout, params, x, n, 1), n);
      expect(Math.abs(r0.lambda! - eig.values[0]) / eig.values[0]).toBeLessThan(1e-4);
      expect(Math.abs(r0.lambdaBatch! - eig.values[0]) / eig.values[0]).toBeLessThan(1e-4);
      const fwd = forwardRef(layout, params, x, n);
      const residual = Array.from(fwd.outputs.at(-1)!, (f, i) => f - y[i]);
      const loss = residual.reduce((s, v) => s + v * v, 0) / n;
      const top = residual.reduce((s, v, i) => s + v * eig.vectors[0][i], 0) ** 2 / n;
      expect(Math.abs(r0.lossTop! - top) / loss).toBeLessThan(1e-4);
      // G = (1/n) Σ ∇x f ∇x fᵀ over the 49 pixels, for the net and for the reference, in float64.
      const agop = (p: Float32Array | Float64Array) => {
        const f = forwardRef(layout, p, x, n);
        const g = backwardRef(layout, p, f, new Float64Array(n).fill(1)).inputGrad;
        const G = new Float64Array(d * d);
        for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) G[a * d + b] += (g[i * d + a] * g[i * d + b]) / n;
        return G;
      };
      const reference = checkpointParams(decodeCheckpoint(file), trainer.net.layout);
      const want = alignment(agop(params), agop(reference));
      expect(want).toBeLessThan(0.999); // two different nets: the check is not of 1 against 1
      expect(Math.abs(r0.alignment! - want)).toBeLessThan(1e-4);
      trainer.destroy();
    });
  }
});
