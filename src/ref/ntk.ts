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

/** ∇θ of the MSE loss (1/b)‖f − y‖² in float64 (zero on frozen layers and padding). */
export function mseGradientRef(layout: ParamLayout, params: ArrayLike<number>, x: ArrayLike<number>, y: ArrayLike<number>, b: number): Float64Array {
  const fwd = mlpForwardRef(layout, params, x, b);
  const f = fwd.acts[fwd.acts.length - 1];
  return mlpBackwardRef(layout, params, fwd, f.map((v, i) => (2 / b) * (v - y[i]))).grads;
}

/**
 * The Hessian of the MSE loss over the trainable parameters, size×size in float64, by central differences
 * of float64 gradients with a step (1e-6) far below any kink's distance in the small test networks.
 * Rows and columns of frozen layers and padding are zero.
 */
export function mseHessianRef(layout: ParamLayout, params: ArrayLike<number>, x: ArrayLike<number>, y: ArrayLike<number>, b: number): Float64Array {
  const P = layout.size;
  const H = new Float64Array(P * P);
  const trainable = new Uint8Array(P);
  for (const l of layout.layers) {
    if (l.frozen) continue;
    trainable.fill(1, l.weightOffset, l.weightOffset + l.fanIn * l.fanOut);
    if (l.biasOffset >= 0) trainable.fill(1, l.biasOffset, l.biasOffset + l.fanOut);
  }
  const h = 1e-6;
  const theta = Float64Array.from(params as ArrayLike<number>);
  for (let j = 0; j < P; j++) {
    if (!trainable[j]) continue;
    const t0 = theta[j];
    theta[j] = t0 + h;
    const gp = mseGradientRef(layout, theta, x, y, b);
    theta[j] = t0 - h;
    const gm = mseGradientRef(layout, theta, x, y, b);
    theta[j] = t0;
    for (let i = 0; i < P; i++) H[i * P + j] = (gp[i] - gm[i]) / (2 * h);
  }
  // Symmetrize away the O(h²) asymmetry of the differences.
  for (let i = 0; i < P; i++) for (let j = 0; j < i; j++) H[i * P + j] = H[j * P + i] = (H[i * P + j] + H[j * P + i]) / 2;
  return H;
}
