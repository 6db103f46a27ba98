import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/data/random.ts';
import { symmetricEigen } from '../src/ntk/eigen.ts';
import { NtkGram } from '../src/ntk/gram.ts';
import { ntkGraphRef } from '../src/ref/network.ts';
import { fcnNet, type FcnTestConfig } from './nets.ts';
import { releaseTestGpu, testGpu } from './gpu.ts';
import { relErr, U } from './numeric.ts';

afterAll(releaseTestGpu);

describe('symmetric eigensolver (float64)', () => {
  it('decomposes a random symmetric matrix: A = V Λ Vᵀ, orthonormal V, values largest first', () => {
    const rng = new Rng(1);
    const n = 30;
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) A[i * n + j] = A[j * n + i] = rng.normal();
    const { values, vectors } = symmetricEigen(A, n);
    for (let i = 1; i < n; i++) expect(values[i]).toBeLessThanOrEqual(values[i - 1]);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let r = 0;
        let o = 0;
        for (let t = 0; t < n; t++) {
          r += vectors[t][i] * values[t] * vectors[t][j];
          o += vectors[i][t] * vectors[j][t];
        }
        expect(r).toBeCloseTo(A[i * n + j], 10);
        expect(o).toBeCloseTo(i === j ? 1 : 0, 10);
      }
    }
  });

  it('gives the closed form of a 2×2 matrix and refuses an asymmetric one', () => {
    const { values } = symmetricEigen([2, 1, 1, 2], 2);
    expect(Array.from(values)).toEqual([3, 1].map((v) => expect.closeTo(v, 12)));
    expect(() => symmetricEigen([1, 2, 3, 4], 2)).toThrow(/not symmetric at \(1, 0\)/);
  });
});

const config = (over: Partial<FcnTestConfig> = {}): FcnTestConfig => ({ inputDim: 11, hidden: [13, 7], outputs: 1, seed: 5, ...over });

describe('NTK Gram matrix', () => {
  for (const [name, over, n] of [
    ['scalar output, NTK parameterization', {}, 9],
    ['3 outputs, biases everywhere, first layer frozen', { outputs: 3, outputBias: 0.5, frozen: [0] }, 6],
    ['standard parameterization, 2 outputs', { parameterization: 'standard', outputs: 2, outputBias: 1 }, 5],
  ] as [string, Partial<FcnTestConfig>, number][]) {
    it(`structured and Jacobian methods both equal the float64 J·Jᵀ (${name})`, async () => {
      const gpu = await testGpu();
      const c = config(over);
      const { net, ref: refNet } = fcnNet(gpu, c);
      const gram = new NtkGram(gpu, net);
      const x = new Rng(6).uniformArray(n * c.inputDim, -1, 1);
      const X = gpu.matrix('X', n, c.inputDim, x);
      const m = n * c.outputs;
      const Ks = gpu.matrix('K structured', m, m);
      const Kj = gpu.matrix('K jacobian', m, m);
      const step = gpu.step('ntk');
      await gram.structured(step, X, Ks);
      await gram.jacobian(step, X, Kj, 200); // tiny chunks: every layer in several pieces
      gpu.submit(step);
      const ref = ntkGraphRef(refNet, await net.readParams(), x, n, c.outputs);
      const tol = 8 * U * (c.inputDim + c.hidden.reduce((s, w) => s + w, 0) + c.outputs + n);
      const structured = await gpu.read(Ks);
      expect(relErr(structured, ref)).toBeLessThan(tol);
      expect(relErr(await gpu.read(Kj), ref)).toBeLessThan(tol);
      // Symmetric, and positive semidefinite within rounding.
      for (let p = 0; p < m; p++) for (let q = 0; q < p; q++) expect(Math.abs(structured[p * m + q] - structured[q * m + p])).toBeLessThanOrEqual(tol * Math.abs(structured[p * m + p] + structured[q * m + q]));
      const { values } = symmetricEigen(Array.from({ length: m * m }, (_, e) => (structured[e] + structured[(e % m) * m + Math.floor(e / m)]) / 2), m);
      expect(values[m - 1]).toBeGreaterThan(-tol * values[0] * m);
      gram.destroy();
      net.destroy();
    });
  }
});
