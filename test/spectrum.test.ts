import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/data/random.ts';
import type { Gpu } from '../src/gpu/gpu.ts';
import { symmetricEigen, tridiagonalEigen } from '../src/ntk/eigen.ts';
import { NtkGram } from '../src/ntk/gram.ts';
import { hostLanczos } from '../src/ntk/lanczos-host.ts';
import { Lanczos, PowerIteration } from '../src/ntk/spectrum.ts';
import { ntkGraphRef } from '../src/ref/network.ts';
import { fcnNet } from './nets.ts';
import { releaseTestGpu, testGpu } from './gpu.ts';

afterAll(releaseTestGpu);

/** A symmetric PSD matrix Q·diag(spectrum)·Qᵀ with a random orthogonal Q, and Q's columns. */
function withSpectrum(spectrum: number[], seed: number) {
  const n = spectrum.length;
  const rng = new Rng(seed);
  const S = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) S[i * n + j] = S[j * n + i] = rng.normal();
  const Q = symmetricEigen(S, n).vectors; // orthonormal rows
  const K = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) K[i * n + j] = spectrum.reduce((s, l, t) => s + l * Q[t][i] * Q[t][j], 0);
  return { K, Q };
}

const spectrum = [50, 20, 10, 5, 4, ...Array.from({ length: 35 }, (_, i) => 3 * 0.85 ** i)];

async function columns(gpu: Gpu, M: { buffer: GPUBuffer; rows: number; cols: number }): Promise<Float32Array[]> {
  const data = await gpu.read(M as never);
  return Array.from({ length: M.cols }, (_, c) => Float32Array.from({ length: M.rows }, (_, r) => data[r * M.cols + c]));
}

const absDot = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.abs(Array.from(a).reduce((s, v, i) => s + v * b[i], 0));

describe('the tridiagonal eigen-solver (QL, implicit shifts)', () => {
  it('agrees with dense Jacobi on random, graded, split and repeated tridiagonals; vectors orthonormal with residuals at rounding', () => {
    const rng = new Rng(11);
    const cases: { name: string; d: number[]; e: number[] }[] = [
      { name: '1×1', d: [3], e: [] },
      { name: '2×2', d: [1, 2], e: [0.5] },
      ...[7, 40, 60].map((m) => ({ name: `random ${m}`, d: Array.from({ length: m }, () => rng.normal()), e: Array.from({ length: m - 1 }, () => rng.normal()) })),
      // Lanczos-like: a graded diagonal (eigenvalues over six decades), small couplings.
      { name: 'graded 40', d: Array.from({ length: 40 }, (_, i) => 1e3 * 0.7 ** i), e: Array.from({ length: 39 }, (_, i) => 0.1 * 0.7 ** i) },
      // A zero coupling splits it in two blocks; equal diagonal and couplings give close pairs.
      { name: 'split 9', d: [4, 1, 3, 2, 5, 0, -1, 2, 2], e: [1, 1, 0, 1, 1, 1, 0.5, 1] },
      { name: 'constant 12', d: Array<number>(12).fill(2), e: Array<number>(11).fill(1) },
      { name: 'diagonal 5', d: [5, -2, 5, 1, 0], e: [0, 0, 0, 0] },
    ];
    for (const { name, d, e } of cases) {
      const m = d.length;
      const T = new Float64Array(m * m);
      for (let i = 0; i < m; i++) {
        T[i * m + i] = d[i];
        if (i + 1 < m) T[i * m + i + 1] = T[(i + 1) * m + i] = e[i];
      }
      const norm = Math.max(...d.map(Math.abs), ...e.map(Math.abs), 1e-300);
      const ql = tridiagonalEigen(d, e);
      const jacobi = symmetricEigen(T, m);
      for (let i = 0; i < m; i++) expect(Math.abs(ql.values[i] - jacobi.values[i]) / norm, `${name} λ${i}`).toBeLessThan(1e-13);
      for (let i = 1; i < m; i++) expect(ql.values[i], `${name} order`).toBeLessThanOrEqual(ql.values[i - 1]);
      for (let i = 0; i < m; i++) {
        const v = ql.vectors[i];
        let residual = 0;
        for (let r = 0; r < m; r++) {
          let tv = 0;
          for (let c = 0; c < m; c++) tv += T[r * m + c] * v[c];
          residual += (tv - ql.values[i] * v[r]) ** 2;
        }
        expect(Math.sqrt(residual) / norm, `${name} residual ${i}`).toBeLessThan(1e-13);
        for (let j = 0; j <= i; j++) {
          const dot = v.reduce((s, x, k) => s + x * ql.vectors[j][k], 0);
          expect(Math.abs(dot - (i === j ? 1 : 0)), `${name} v${i}·v${j}`).toBeLessThan(1e-13);
        }
      }
    }
    expect(() => tridiagonalEigen([1, 2], [])).toThrow(/2 diagonal entries need 1 off-diagonal ones, got 0/);
  });
});

describe('power iteration', () => {
  it('finds λ_max with its iteration count and residual, and a warm start needs fewer iterations', async () => {
    const gpu = await testGpu();
    const { K, Q } = withSpectrum(spectrum, 1);
    const Km = gpu.matrix('K', 40, 40, K);
    const power = new PowerIteration(gpu, 40, 3);
    // Checked every iteration, so the counts are exact rather than multiples of the readback cadence.
    const cold = await power.run(Km, { tolerance: 1e-7, checkEvery: 1 });
    expect(Math.abs(cold.lambda - 50) / 50).toBeLessThan(1e-5);
    expect(cold.residual).toBeLessThan(1e-2);
    expect(cold.iterations).toBeGreaterThan(3);
    expect(absDot((await columns(gpu, power.v))[0], Q[0])).toBeGreaterThan(0.9999);
    const warm = await power.run(Km, { tolerance: 1e-7, checkEvery: 1 });
    expect(warm.iterations).toBeLessThan(cold.iterations);
    expect(Math.abs(warm.lambda - 50) / 50).toBeLessThan(1e-5);
    power.destroy();
  });
});

describe('Lanczos with full reorthogonalization', () => {
  it('finds the top 5 eigenpairs and, at m = dim, the smallest eigenvalue', async () => {
    const gpu = await testGpu();
    const { K, Q } = withSpectrum(spectrum, 2);
    const lanczos = new Lanczos(gpu, 40, 40);
    const r = await lanczos.run(gpu.matrix('K', 40, 40, K), { count: 5, iterations: 40 });
    expect(r.iterations).toBe(40);
    r.values.forEach((v, i) => expect(Math.abs(v - spectrum[i]) / spectrum[i], `λ${i + 1}`).toBeLessThan(1e-5));
    const cols = await columns(gpu, r.vectors);
    cols.forEach((u, i) => expect(absDot(u, Q[i]), `u${i + 1}`).toBeGreaterThan(0.9999));
    expect(Math.abs(r.smallest - spectrum[39]) / spectrum[39]).toBeLessThan(1e-2);
    for (const res of r.residuals) expect(res).toBeLessThan(1e-3 * spectrum[0]);
    lanczos.destroy();
  });

  it('matches the float64 eigen-decomposition of a real network\'s NTK (k = 2 outputs)', async () => {
    const gpu = await testGpu();
    const { net, ref: refNet } = fcnNet(gpu, { inputDim: 12, hidden: [40], outputs: 2, seed: 9 });
    const n = 30;
    const x = new Rng(4).uniformArray(n * 12, -1, 1);
    const K = gpu.matrix('K', 2 * n, 2 * n);
    const step = gpu.step('ntk');
    await new NtkGram(gpu, net).structured(step, gpu.matrix('X', n, 12, x), K);
    gpu.submit(step);
    const ref = symmetricEigen(ntkGraphRef(refNet, await net.readParams(), x, n, 2), 2 * n);
    const r = await new Lanczos(gpu, 2 * n).run(K, { count: 3 });
    r.values.forEach((v, i) => expect(Math.abs(v - ref.values[i]) / ref.values[0], `λ${i + 1}`).toBeLessThan(1e-5));
    const cols = await columns(gpu, r.vectors);
    // The top eigenvector is separated from the next; compare it (later ones may be nearly degenerate).
    expect(absDot(cols[0], ref.vectors[0])).toBeGreaterThan(0.999);
    const power = await new PowerIteration(gpu, 2 * n).run(K, { tolerance: 1e-7 });
    expect(Math.abs(power.lambda - ref.values[0]) / ref.values[0]).toBeLessThan(1e-4);
    // The host recurrence on the read-back K gives the same Ritz values as the GPU's from the same start.
    const host = hostLanczos(await gpu.read(K), 2 * n, { count: 3, iterations: r.iterations });
    host.values.forEach((v, i) => expect(Math.abs(v - r.values[i]) / ref.values[0], `host λ${i + 1}`).toBeLessThan(1e-5));
    expect(absDot(host.vectors[0], ref.vectors[0])).toBeGreaterThan(0.999);
  });

  it('on the host in float64: the top 5 eigenpairs, λ_min at m = dim, exact Ritz values after a breakdown', () => {
    const { K, Q } = withSpectrum(spectrum, 2);
    const r = hostLanczos(K, 40, { count: 5, iterations: 40 });
    expect(r.iterations).toBe(40);
    // K is stored in float32: its eigenvalues are the spectrum's to float32 rounding of the entries.
    r.values.forEach((v, i) => expect(Math.abs(v - spectrum[i]) / spectrum[i], `λ${i + 1}`).toBeLessThan(1e-5));
    r.vectors.forEach((u, i) => expect(absDot(u, Q[i]), `u${i + 1}`).toBeGreaterThan(0.9999));
    expect(Math.abs(r.smallest - spectrum[39]) / spectrum[39]).toBeLessThan(1e-3);
    for (const res of r.residuals) expect(res).toBeLessThan(1e-4 * spectrum[0]);
    // A matrix of rank 3 spans an invariant subspace after 3 steps: the recurrence stops there, exactly.
    const low = withSpectrum([9, 4, 1, ...Array<number>(17).fill(0)], 5);
    const b = hostLanczos(low.K, 20, { count: 3, iterations: 20 });
    expect(b.iterations).toBeLessThanOrEqual(4);
    b.values.forEach((v, i) => expect(Math.abs(v - [9, 4, 1][i]), `rank-3 λ${i + 1}`).toBeLessThan(1e-5));
    expect(() => hostLanczos(K, 40, { count: 11, iterations: 40 })).toThrow(/count must be an integer in 1..10, got 11/);
  });

  it('refuses an eigenpair count outside 1..10', async () => {
    const gpu = await testGpu();
    await expect(new Lanczos(gpu, 20).run(gpu.matrix('K', 20, 20), { count: 11 })).rejects.toThrow(/count must be an integer in 1..10, got 11/);
  });
});
