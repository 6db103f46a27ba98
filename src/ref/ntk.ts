// Float64 reference of the empirical NTK: per-example, per-output parameter gradients J (rows output-major,
// a·n + i) from the reference network, and K = J Jᵀ. Frozen layers' gradients are zero, so they drop out.
import type { ParamLayout } from '../nn/layout.ts';
import { mlpBackwardRef, mlpForwardRef } from './mlp.ts';

export function jacobianRef(layout: ParamLayout, params: ArrayLike<number>, x: ArrayLike<number>, n: number, d: number, k: number): Float64Array[] {
  const rows: Float64Array[] = [];
  for (let a = 0; a < k; a++) {
    for (let i = 0; i < n; i++) {
      const xi = Array.from({ length: d }, (_, j) => x[i * d + j]);
      const fwd = mlpForwardRef(layout, params, xi, 1);
      const seed = new Float64Array(k);
      seed[a] = 1;
      rows.push(mlpBackwardRef(layout, params, fwd, seed).grads);
    }
  }
  return rows;
}

export function ntkRef(layout: ParamLayout, params: ArrayLike<number>, x: ArrayLike<number>, n: number, d: number, k: number): Float64Array {
  const J = jacobianRef(layout, params, x, n, d, k);
  const m = n * k;
  const K = new Float64Array(m * m);
  for (let p = 0; p < m; p++) {
    for (let q = 0; q <= p; q++) {
      let s = 0;
      for (let t = 0; t < J[p].length; t++) s += J[p][t] * J[q][t];
      K[p * m + q] = s;
      K[q * m + p] = s;
    }
  }
  return K;
}
