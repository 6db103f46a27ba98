// Float64 references of the transformer layers (layer norm, GELU, multi-head self-attention), with plain loops
// over NCHW rows (b examples × C channels × P positions), written from the formulas, not from the kernels.
// Each nonlinear map comes with its Jacobian applied to a direction (forward mode) and its transpose (backward);
// the network tests check both against central differences of the forward map.

/** Mean and 1/sqrt(variance + ε) of one position's C channels (at(c) is channel c's index). */
function tokenStats(x: ArrayLike<number>, at: (c: number) => number, C: number, eps: number): { mean: number; r: number } {
  let mean = 0;
  for (let c = 0; c < C; c++) mean += x[at(c)];
  mean /= C;
  let v = 0;
  for (let c = 0; c < C; c++) v += (x[at(c)] - mean) ** 2;
  return { mean, r: 1 / Math.sqrt(v / C + eps) };
}

/** torch.nn.LayerNorm over the channels of each position, without the affine part. */
export function layerNormRef(x: ArrayLike<number>, b: number, C: number, P: number, eps: number): Float64Array {
  const y = new Float64Array(b * C * P);
  for (let n = 0; n < b; n++) {
    for (let q = 0; q < P; q++) {
      const at = (c: number) => (n * C + c) * P + q;
      const { mean, r } = tokenStats(x, at, C, eps);
      for (let c = 0; c < C; c++) y[at(c)] = (x[at(c)] - mean) * r;
    }
  }
  return y;
}

/** The layer norm's Jacobian at x applied to g, r·(g − mean g − x̂·mean(g x̂)): symmetric, so also its transpose. */
export function layerNormJacobianRef(x: ArrayLike<number>, g: ArrayLike<number>, b: number, C: number, P: number, eps: number): Float64Array {
  const xhat = layerNormRef(x, b, C, P, eps);
  const out = new Float64Array(b * C * P);
  for (let n = 0; n < b; n++) {
    for (let q = 0; q < P; q++) {
      const at = (c: number) => (n * C + c) * P + q;
      const { r } = tokenStats(x, at, C, eps);
      let mg = 0;
      let mgx = 0;
      for (let c = 0; c < C; c++) {
        mg += g[at(c)] / C;
        mgx += (g[at(c)] * xhat[at(c)]) / C;
      }
      for (let c = 0; c < C; c++) out[at(c)] = r * (g[at(c)] - mg - xhat[at(c)] * mgx);
    }
  }
  return out;
}

const K0 = Math.sqrt(2 / Math.PI);
const K1 = 0.044715;

/** GELU in its tanh form, PyTorch's gelu(x, approximate='tanh'). */
export const geluRef = (x: number) => 0.5 * x * (1 + Math.tanh(K0 * (x + K1 * x ** 3)));

export function geluDerivativeRef(x: number): number {
  const t = Math.tanh(K0 * (x + K1 * x ** 3));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * K0 * (1 + 3 * K1 * x * x);
}

/** Attention's shape: examples, model width D (the input has 3D channels: q, k, v), heads, tokens. */
export interface AttentionRefShape {
  b: number;
  D: number;
  heads: number;
  T: number;
}

/** y and the probabilities P[n][h][t][s] of multi-head self-attention on qkv rows (channel-major). */
export function attentionRef(x: ArrayLike<number>, s: AttentionRefShape): { y: Float64Array; P: Float64Array } {
  const { b, D, heads, T } = s;
  const d = D / heads;
  const q = (n: number, part: number, c: number, t: number) => x[(n * 3 * D + part * D + c) * T + t];
  const P = new Float64Array(b * heads * T * T);
  const y = new Float64Array(b * D * T);
  for (let n = 0; n < b; n++) {
    for (let h = 0; h < heads; h++) {
      const p0 = (n * heads + h) * T * T;
      for (let t = 0; t < T; t++) {
        const row = new Float64Array(T);
        for (let u = 0; u < T; u++) {
          let acc = 0;
          for (let c = 0; c < d; c++) acc += q(n, 0, h * d + c, t) * q(n, 1, h * d + c, u);
          row[u] = acc / Math.sqrt(d);
        }
        const m = Math.max(...row);
        let total = 0;
        for (let u = 0; u < T; u++) total += (row[u] = Math.exp(row[u] - m));
        for (let u = 0; u < T; u++) P[p0 + t * T + u] = row[u] / total;
      }
      for (let c = 0; c < d; c++) {
        for (let t = 0; t < T; t++) {
          let acc = 0;
          for (let u = 0; u < T; u++) acc += q(n, 2, h * d + c, u) * P[p0 + t * T + u];
          y[(n * D + h * d + c) * T + t] = acc;
        }
      }
    }
  }
  return { y, P };
}

/**
 * The attention's Jacobian at x applied to a direction ẋ (forward mode), or its transpose applied to dy
 * (backward), from the product rule through S = QᵀK/√d, P = softmax(S), O = V·Pᵀ.
 */
export function attentionJacobianRef(x: ArrayLike<number>, s: AttentionRefShape, v: ArrayLike<number>, transpose: boolean): Float64Array {
  const { b, D, heads, T } = s;
  const d = D / heads;
  const { P } = attentionRef(x, s);
  const at = (n: number, part: number, c: number, t: number) => (n * 3 * D + part * D + c) * T + t;
  const outAt = (n: number, c: number, t: number) => (n * D + c) * T + t;
  const out = new Float64Array(transpose ? b * 3 * D * T : b * D * T);
  const sq = Math.sqrt(d);
  for (let n = 0; n < b; n++) {
    for (let h = 0; h < heads; h++) {
      const p = (t: number, u: number) => P[((n * heads + h) * T + t) * T + u];
      if (!transpose) {
        // Ṡ, Ṗ, then Ȯ = V̇Pᵀ + VṖᵀ.
        const Pdot = new Float64Array(T * T);
        for (let t = 0; t < T; t++) {
          const Sdot = new Float64Array(T);
          for (let u = 0; u < T; u++) {
            let acc = 0;
            for (let c = 0; c < d; c++) acc += v[at(n, 0, h * d + c, t)] * x[at(n, 1, h * d + c, u)] + x[at(n, 0, h * d + c, t)] * v[at(n, 1, h * d + c, u)];
            Sdot[u] = acc / sq;
          }
          let dot = 0;
          for (let u = 0; u < T; u++) dot += p(t, u) * Sdot[u];
          for (let u = 0; u < T; u++) Pdot[t * T + u] = p(t, u) * (Sdot[u] - dot);
        }
        for (let c = 0; c < d; c++) {
          for (let t = 0; t < T; t++) {
            let acc = 0;
            for (let u = 0; u < T; u++) acc += v[at(n, 2, h * d + c, u)] * p(t, u) + x[at(n, 2, h * d + c, u)] * Pdot[t * T + u];
            out[outAt(n, h * d + c, t)] = acc;
          }
        }
        continue;
      }
      // dV = dO·P, dP = dOᵀV, dS, dQ = K·dSᵀ/√d, dK = Q·dS/√d.
      const dS = new Float64Array(T * T);
      for (let t = 0; t < T; t++) {
        const dP = new Float64Array(T);
        for (let u = 0; u < T; u++) {
          let acc = 0;
          for (let c = 0; c < d; c++) acc += v[outAt(n, h * d + c, t)] * x[at(n, 2, h * d + c, u)];
          dP[u] = acc;
        }
        let dot = 0;
        for (let u = 0; u < T; u++) dot += p(t, u) * dP[u];
        for (let u = 0; u < T; u++) dS[t * T + u] = p(t, u) * (dP[u] - dot);
      }
      for (let c = 0; c < d; c++) {
        for (let u = 0; u < T; u++) {
          let dv = 0;
          let dq = 0;
          let dk = 0;
          for (let t = 0; t < T; t++) {
            dv += v[outAt(n, h * d + c, t)] * p(t, u);
            dq += x[at(n, 1, h * d + c, t)] * dS[u * T + t];
            dk += x[at(n, 0, h * d + c, t)] * dS[t * T + u];
          }
          out[at(n, 2, h * d + c, u)] = dv;
          out[at(n, 0, h * d + c, u)] = dq / sq;
          out[at(n, 1, h * d + c, u)] = dk / sq;
        }
      }
    }
  }
  return out;
}
