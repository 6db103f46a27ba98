// Lanczos with full reorthogonalization on a dense symmetric matrix held on the host, in float64: the same
// recurrence as the GPU's (src/ntk/spectrum.ts, same start vector for the same seed), for kernels small
// enough that one readback of K and host arithmetic cost less than the GPU recurrence's dispatches (about
// ten per step, each a round of launch overhead that dwarfs a 128×128 product; bench/RESULTS.md "Dispatch cost").
import { Rng } from '../data/random.ts';
import { ritzPairs } from './spectrum.ts';

export interface HostLanczosResult {
  /** The top eigenvalues, largest first. */
  values: number[];
  /** Their unit eigenvectors, each `dim` long. */
  vectors: Float64Array[];
  /** The smallest Ritz value: λ_min when the steps span enough of the spectrum (all of it at m = dim). */
  smallest: number;
  iterations: number;
  /** Per returned pair, the Lanczos estimate of ‖K u − θ u‖. */
  residuals: number[];
  /** The same estimate for the smallest Ritz value. */
  smallestResidual: number;
}

/** The top `count` eigenpairs of the dim×dim row-major symmetric K by `iterations` Lanczos steps (≤ dim). */
export function hostLanczos(K: ArrayLike<number>, dim: number, options: { count: number; iterations: number; seed?: number }): HostLanczosResult {
  const m = Math.min(options.iterations, dim);
  if (!(options.count >= 1 && options.count <= Math.min(10, dim))) throw new RangeError(`Lanczos count must be an integer in 1..${Math.min(10, dim)}, got ${options.count}`);
  if (K.length !== dim * dim) throw new RangeError(`hostLanczos: K has ${K.length} values, a ${dim}×${dim} matrix needs ${dim * dim}`);
  // One element type in every loop below keeps V8 on its fast path (a float32 K made it 2-3× slower).
  const A = K instanceof Float64Array ? K : Float64Array.from(K);
  const rng = new Rng(options.seed ?? 0);
  const basis: Float64Array[] = [Float64Array.from({ length: dim }, () => rng.normal())];
  scaleToUnit(basis[0]);
  const alphas: number[] = [];
  const betas: number[] = [];
  const w = new Float64Array(dim);
  for (let j = 0; j < m; j++) {
    const v = basis[j];
    for (let r = 0; r < dim; r++) {
      let sum = 0;
      const row = r * dim;
      for (let c = 0; c < dim; c++) sum += A[row + c] * v[c];
      w[r] = sum;
    }
    // Gram–Schmidt against v_0..v_j, twice; α_j = v_jᵀ K v_j is the first pass's last coefficient.
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i <= j; i++) {
        const h = dot(basis[i], w);
        if (pass === 0 && i === j) alphas.push(h);
        const b = basis[i];
        for (let r = 0; r < dim; r++) w[r] -= h * b[r];
      }
    }
    const beta = Math.sqrt(dot(w, w));
    betas.push(beta);
    // An invariant subspace: the Ritz pairs are exact, and ritzPairs cuts T here as the GPU path does.
    if (!(beta > 1e-6 * Math.max(...alphas.map(Math.abs), 1e-30))) break;
    if (j + 1 < m) basis.push(Float64Array.from(w, (x) => x / beta));
  }
  const ritz = ritzPairs(alphas, betas, options.count);
  const kept = ritz.values.length;
  const vectors = Array.from({ length: kept }, (_, i) => {
    const u = new Float64Array(dim);
    for (let j = 0; j < ritz.size; j++) {
      const y = ritz.coefficients[j * kept + i];
      const b = basis[j];
      for (let r = 0; r < dim; r++) u[r] += y * b[r];
    }
    return u;
  });
  return { values: ritz.values, vectors, smallest: ritz.smallest, iterations: ritz.size, residuals: ritz.residuals, smallestResidual: ritz.smallestResidual };
}

export interface TopEigenpair {
  lambda: number;
  /** ‖K u − λ u‖ / λ, computed from K (not the Lanczos estimate). */
  residual: number;
  /** Lanczos steps of the last attempt. */
  iterations: number;
}

/**
 * λ_max of a small dense symmetric K to a relative residual of `tolerance`: Lanczos from a seeded start,
 * with the number of steps doubled (from 32) until the Ritz estimate meets the tolerance or the steps span
 * the whole space (where Lanczos with full reorthogonalization is exact to rounding). The residual returned
 * is recomputed from K itself; K has an eigenvalue within residual·λ of λ, and Lanczos's top Ritz value
 * is the largest it can be.
 */
export function topEigenpair(K: ArrayLike<number>, dim: number, options: { tolerance: number; seed?: number }): TopEigenpair {
  const A = K instanceof Float64Array ? K : Float64Array.from(K);
  let steps = Math.min(32, dim);
  for (;;) {
    const r = hostLanczos(A, dim, { count: 1, iterations: steps, seed: options.seed });
    const lambda = r.values[0];
    const done = r.residuals[0] <= options.tolerance * Math.abs(lambda) || steps >= dim || r.iterations < steps;
    if (done) return { lambda, residual: relativeResidual(A, dim, r.vectors[0], lambda), iterations: r.iterations };
    steps = Math.min(dim, 2 * steps);
  }
}

/** ‖K u − λ u‖ / |λ| for a unit u. */
export function relativeResidual(K: Float64Array, dim: number, u: Float64Array, lambda: number): number {
  let sumsq = 0;
  for (let r = 0; r < dim; r++) {
    let sum = 0;
    const row = r * dim;
    for (let c = 0; c < dim; c++) sum += K[row + c] * u[c];
    sumsq += (sum - lambda * u[r]) ** 2;
  }
  return Math.sqrt(sumsq) / Math.abs(lambda);
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function scaleToUnit(v: Float64Array): void {
  const n = Math.sqrt(dot(v, v));
  for (let i = 0; i < v.length; i++) v[i] /= n;
}
