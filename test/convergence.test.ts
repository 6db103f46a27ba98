// Tracked eigenvalues that say how converged they are: the exact batch λ_max (float64 Lanczos on the
// read-back kernel, to a relative residual of 1e-6), and the residual every GPU power iteration records,
// each checked against float64 references.
import { afterAll, describe, expect, it } from 'vitest';
import { readDataFile } from '../src/cli/data-files.ts';
import { BatchOrder } from '../src/data/splits.ts';
import { Rng } from '../src/data/random.ts';
import { symmetricEigen } from '../src/ntk/eigen.ts';
import { EXACT_TOLERANCE } from '../src/ntk/exact-batch.ts';
import { relativeResidual, topEigenpair } from '../src/ntk/lanczos-host.ts';
import { PowerIteration } from '../src/ntk/spectrum.ts';
import { ntkGraphRef } from '../src/ref/network.ts';
import { Trainer, partSeeds, type TrainConfig } from '../src/run/train.ts';
import { releaseTestGpu, testGpu } from './gpu.ts';

afterAll(releaseTestGpu);

/** A random symmetric PSD matrix with the given eigenvalues (Q diag(values) Qᵀ, Q from Gram–Schmidt). */
function withSpectrum(values: number[], seed: number): Float64Array {
  const n = values.length;
  const rng = new Rng(seed);
  const Q: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const q = Float64Array.from({ length: n }, () => rng.normal());
    for (const p of Q) {
      const h = p.reduce((s, x, j) => s + x * q[j], 0);
      for (let j = 0; j < n; j++) q[j] -= h * p[j];
    }
    const norm = Math.hypot(...q);
    Q.push(q.map((x) => x / norm));
  }
  const K = new Float64Array(n * n);
  for (let k = 0; k < n; k++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) K[i * n + j] += values[k] * Q[k][i] * Q[k][j];
  return K;
}

describe('the exact λ_max of a small kernel', () => {
  it('matches a float64 eigendecomposition to 1e-10 and states a residual below 1e-6, gaps wide and narrow', () => {
    for (const [n, ratio, seed] of [[5, 0.5, 1], [37, 0.91, 2], [100, 0.999, 3], [130, 0.9999, 4]] as const) {
      const rng = new Rng(seed + 10);
      const values = [10, 10 * ratio, ...Array.from({ length: n - 2 }, () => 10 * ratio * rng.uniform())];
      const K = withSpectrum(values, seed);
      const r = topEigenpair(K, n, { tolerance: EXACT_TOLERANCE, seed });
      expect(Math.abs(r.lambda - 10) / 10, `n=${n} λ₂/λ₁=${ratio}`).toBeLessThan(1e-10);
      expect(r.residual).toBeLessThanOrEqual(EXACT_TOLERANCE);
      expect(symmetricEigen(K, n).values[0]).toBeCloseTo(10, 9);
    }
  });

  it('recomputes its residual from K: the relative residual of a wrong pair is large', () => {
    const K = withSpectrum([4, 2, 1], 5);
    const e = symmetricEigen(K, 3);
    expect(relativeResidual(K, 3, e.vectors[0], 4)).toBeLessThan(1e-12);
    expect(relativeResidual(K, 3, e.vectors[1], 4)).toBeCloseTo(0.5, 10); // ‖2u − 4u‖/4
  });
});

describe('the power iteration\'s recorded residual', () => {
  it('is ‖Kv − λv‖/λ of the pair it returns, and stays large when λ₂/λ₁ = 0.91 and the iterations are few', async () => {
    const gpu = await testGpu();
    const n = 45;
    const values = [5, 4.55, ...Array.from({ length: n - 2 }, (_, i) => 4 * (1 - i / n))];
    const K64 = withSpectrum(values, 7);
    const K = gpu.matrix('K', n, n, Float32Array.from(K64));
    const out = gpu.createBuffer({ label: 'out', size: 8, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    for (const iterations of [5, 20, 400]) {
      const power = new PowerIteration(gpu, n, 3);
      const v0 = Float64Array.from(await gpu.read(power.v));
      // The pair the recorded λ belongs to is (v_{m−1}, ‖K v_{m−1}‖); reproduce v_{m−1} in float64.
      let v = v0;
      for (let i = 0; i < iterations - 1; i++) {
        const w = Float64Array.from({ length: n }, (_, r) => v.reduce((s, x, c) => s + K64[r * n + c] * x, 0));
        const norm = Math.hypot(...w);
        v = w.map((x) => x / norm);
      }
      const step = gpu.step('power');
      await power.record(step, K, iterations, out, 0, 1);
      gpu.submit(step);
      const [lambda, residual] = await gpu.read(out);
      const w = Float64Array.from({ length: n }, (_, r) => v.reduce((s, x, c) => s + K64[r * n + c] * x, 0));
      const expected = Math.hypot(...w.map((x, i) => x - lambda * v[i])) / lambda;
      expect(Math.abs(residual - expected), `${iterations} iterations`).toBeLessThan(1e-5 + 1e-3 * expected);
      if (iterations === 5) expect(residual).toBeGreaterThan(1e-2);
      if (iterations === 400) expect(residual).toBeLessThan(1e-4);
      // Its certificate: an eigenvalue of K lies within residual·λ of λ.
      expect(Math.min(...values.map((x) => Math.abs(x - lambda)))).toBeLessThanOrEqual(residual * lambda * (1 + 1e-3) + 1e-5);
      power.destroy();
    }
    K.buffer.destroy();
    out.destroy();
  });
});

describe('tracking with convergence', () => {
  const config = (solver: 'exact' | 'power'): TrainConfig => ({
    data: { kind: 'synthetic', task: 'rank-2', d: 10, train: 40, noise: 0.1 },
    model: { hidden: [48] },
    loss: 'mse',
    optimizer: { name: 'sgd' },
    schedule: { kind: 'constant', lr: 0.4 },
    batchSize: 13, // 40 = 13 + 13 + 13 + 1: the last batch of an epoch has one example
    steps: 5,
    readbackEvery: 3,
    tracking: { batch: { iterations: 3, solver }, set: { examples: 40, iterations: 2 }, spectrum: { top: 2, iterations: 6 } },
    seed: 9,
  });

  it('solves each batch\'s λ_max exactly: float64 reference within 1e-5 at every step, residual ≤ 1e-6, across readbacks', async () => {
    const gpu = await testGpu();
    const c = config('exact');
    const trainer = await Trainer.create(gpu, c, readDataFile);
    const params: Float32Array[] = [];
    const run = await trainer.run({ atStep: async () => void params.push(await trainer.net.readParams()) });
    const layout = { layers: trainer.net.layers, layout: trainer.net.layout };
    const { x, d } = trainer.data.train;
    const order = new BatchOrder(40, 13, partSeeds(c.seed).batches);
    for (const r of run.records) {
      const index = order.next();
      const xb = new Float64Array(index.length * d);
      index.forEach((i, row) => xb.set(x.subarray(i * d, (i + 1) * d), row * d));
      const lambda = symmetricEigen(ntkGraphRef(layout, params[r.step], xb, index.length, 1), index.length).values[0];
      expect(Math.abs(r.lambdaBatch! - lambda) / lambda, `step ${r.step}`).toBeLessThan(1e-5);
      expect(r.lambdaBatchResidual).toBeLessThanOrEqual(EXACT_TOLERANCE);
      expect(r.etaCrit).toBe(index.length / r.lambdaBatch!);
    }
    expect(run.records.map((r) => r.step)).toEqual([0, 1, 2, 3, 4]);
    trainer.destroy();
  });

  it('records a residual for every power-iterated and Lanczos eigenvalue, large where too few iterations ran', async () => {
    const gpu = await testGpu();
    const trainer = await Trainer.create(gpu, config('power'), readDataFile);
    const run = await trainer.run();
    trainer.destroy();
    const r0 = run.records[0];
    for (const r of run.records) {
      for (const key of ['lambdaBatchResidual', 'lambdaResidual'] as const) expect(r[key], `${key} at ${r.step}`).toBeGreaterThanOrEqual(0);
    }
    // Three warm-started iterations on a batch that changes every step leave a visible residual.
    expect(Math.max(...run.records.map((r) => r.lambdaBatchResidual!))).toBeGreaterThan(1e-3);
    // Six Lanczos steps on a 40×40 kernel: the top pair converges, λ_min does not.
    expect(r0.eigenvalueResiduals).toHaveLength(2);
    expect(r0.lambdaMinResidual!).toBeGreaterThan(1e-2);
  });

  it('starts the tracked set converged when it is the training set whose λ_max set the rate (lrUnit eta-crit)', async () => {
    const gpu = await testGpu();
    const c: TrainConfig = { ...config('power'), lrUnit: 'eta-crit', schedule: { kind: 'constant', lr: 0.5 }, batchSize: 'full', tracking: { set: { examples: 40, iterations: 1 } } };
    const trainer = await Trainer.create(gpu, c, readDataFile);
    const params0 = await trainer.net.readParams();
    const layout = { layers: trainer.net.layers, layout: trainer.net.layout };
    const K = ntkGraphRef(layout, params0, trainer.data.train.x, 40, 1);
    const lambda = symmetricEigen(K, 40).values[0];
    // Before the first step, the set's power vector is already the initial measurement's eigenvector.
    const v = Float64Array.from(await gpu.read(trainer.tracker!.warmStarts().set));
    expect(relativeResidual(K, 40, v, lambda)).toBeLessThan(1e-4);
    const run = await trainer.run();
    trainer.destroy();
    expect(Math.abs(run.records[0].lambda! - lambda) / lambda).toBeLessThan(1e-5);
    expect(run.records[0].lambdaResidual!).toBeLessThan(1e-5);
  });
});

describe('the convergence summary', () => {
  it('counts steps above the tolerance per eigenvalue, a list by its largest residual, and ignores what was not measured', async () => {
    const { convergenceSummary } = await import('../src/run/convergence.ts');
    const records = [
      { step: 0, lr: 1, loss: 1, lambda: 5, lambdaResidual: 1e-7, eigenvalues: [5, 4], eigenvalueResiduals: [1e-9, 2e-3] },
      { step: 1, lr: 1, loss: 1, lambda: 5, lambdaResidual: 2e-3, lambdaBatch: 3 },
      { step: 2, lr: 1, loss: 1, lambda: 5, lambdaResidual: 1e-3, eigenvalues: [5, 4], eigenvalueResiduals: [1e-9, 1e-9] },
    ];
    const c = convergenceSummary(records, 1e-3);
    expect(c.quantities.lambda).toEqual({ tracked: 3, unconverged: 1, worstResidual: 2e-3, firstUnconverged: 1 });
    expect(c.quantities.eigenvalues).toEqual({ tracked: 2, unconverged: 1, worstResidual: 2e-3, firstUnconverged: 0 });
    // λ_batch without a residual (a file from before residuals were recorded): not counted either way.
    expect(c.quantities.lambdaBatch).toBeUndefined();
    expect(convergenceSummary(records, 1e-2).quantities.lambda.unconverged).toBe(0);
  });
});
