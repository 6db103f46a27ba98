// Float64 references of the convolution and pooling kernels (shaders/conv2d.ts, shaders/pool.ts), with plain
// loops over NCHW tensors and OIHW weights, as PyTorch defines Conv2d (cross-correlation, zero padding),
// AvgPool2d(k) and AdaptiveAvgPool2d(1).

import type { ConvGeometry } from '../../shaders/conv2d.ts';

/** The kernels' geometry (a type only: the output size and every index below are computed here again). */
export type ConvRefGeometry = ConvGeometry;

export const convOutputRef = (g: ConvRefGeometry): [number, number] => [Math.floor((g.h + 2 * g.pad - g.k) / g.stride) + 1, Math.floor((g.w + 2 * g.pad - g.k) / g.stride) + 1];

/** Calls f(n, co, oy, ox, ci, ky, kx, xIndex, wIndex) for every tap inside the image. */
function eachTap(g: ConvRefGeometry, f: (outIndex: number, co: number, xIndex: number, wIndex: number) => void): void {
  const [ho, wo] = convOutputRef(g);
  for (let n = 0; n < g.b; n++) {
    for (let co = 0; co < g.cout; co++) {
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          const o = ((n * g.cout + co) * ho + oy) * wo + ox;
          for (let ci = 0; ci < g.cin; ci++) {
            for (let ky = 0; ky < g.k; ky++) {
              const iy = oy * g.stride + ky - g.pad;
              if (iy < 0 || iy >= g.h) continue;
              for (let kx = 0; kx < g.k; kx++) {
                const ix = ox * g.stride + kx - g.pad;
                if (ix < 0 || ix >= g.w) continue;
                f(o, co, ((n * g.cin + ci) * g.h + iy) * g.w + ix, ((co * g.cin + ci) * g.k + ky) * g.k + kx);
              }
            }
          }
        }
      }
    }
  }
}

/** y = α·(W ⋆ x) + β·b (per output channel; no bias when null). */
export function conv2dRef(g: ConvRefGeometry, x: ArrayLike<number>, W: ArrayLike<number>, alpha = 1, bias: ArrayLike<number> | null = null, beta = 1): Float64Array {
  const [ho, wo] = convOutputRef(g);
  const y = new Float64Array(g.b * g.cout * ho * wo);
  eachTap(g, (o, _co, xi, wi) => (y[o] += W[wi] * x[xi]));
  for (let o = 0; o < y.length; o++) y[o] = alpha * y[o] + (bias ? beta * bias[Math.floor(o / (ho * wo)) % g.cout] : 0);
  return y;
}

/** The adjoint of y = α·(W ⋆ x) + β·b: dW = α·Σ dy·x, db = β·Σ dy, dx = α·Σ dy·W. */
export function conv2dAdjointRef(g: ConvRefGeometry, x: ArrayLike<number>, W: ArrayLike<number>, dy: ArrayLike<number>, alpha = 1, beta = 1) {
  const dW = new Float64Array(W.length);
  const db = new Float64Array(g.cout);
  const dx = new Float64Array(g.b * g.cin * g.h * g.w);
  const [ho, wo] = convOutputRef(g);
  for (let o = 0; o < dy.length; o++) db[Math.floor(o / (ho * wo)) % g.cout] += beta * dy[o];
  eachTap(g, (o, _co, xi, wi) => {
    dW[wi] += alpha * dy[o] * x[xi];
    dx[xi] += alpha * dy[o] * W[wi];
  });
  return { dW, db, dx };
}

/** Average over k×k windows with stride k of each of the b·c planes of h×w. */
export function avgPoolRef(x: ArrayLike<number>, planes: number, h: number, w: number, k: number): Float64Array {
  const ho = Math.floor(h / k);
  const wo = Math.floor(w / k);
  const y = new Float64Array(planes * ho * wo);
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        let s = 0;
        for (let u = 0; u < k; u++) for (let v = 0; v < k; v++) s += x[(p * h + i * k + u) * w + j * k + v];
        y[(p * ho + i) * wo + j] = s / (k * k);
      }
    }
  }
  return y;
}

export function avgPoolAdjointRef(dy: ArrayLike<number>, planes: number, h: number, w: number, k: number): Float64Array {
  const ho = Math.floor(h / k);
  const wo = Math.floor(w / k);
  const dx = new Float64Array(planes * h * w);
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) for (let u = 0; u < k; u++) for (let v = 0; v < k; v++) dx[(p * h + i * k + u) * w + j * k + v] = dy[(p * ho + i) * wo + j] / (k * k);
  }
  return dx;
}

/** The mean of each of the planes of `size` values. */
export function globalAvgPoolRef(x: ArrayLike<number>, planes: number, size: number): Float64Array {
  const y = new Float64Array(planes);
  for (let p = 0; p < planes; p++) {
    let s = 0;
    for (let q = 0; q < size; q++) s += x[p * size + q];
    y[p] = s / size;
  }
  return y;
}

export function globalAvgPoolAdjointRef(dy: ArrayLike<number>, planes: number, size: number): Float64Array {
  const dx = new Float64Array(planes * size);
  for (let p = 0; p < planes; p++) for (let q = 0; q < size; q++) dx[p * size + q] = dy[p] / size;
  return dx;
}

/** Max pooling's outputs and, per output, the index inside its plane of the first maximum (row-major). */
export function maxPoolRef(x: ArrayLike<number>, planes: number, h: number, w: number, k: number, stride: number, pad: number): { y: Float64Array; arg: Int32Array } {
  const ho = Math.floor((h + 2 * pad - k) / stride) + 1;
  const wo = Math.floor((w + 2 * pad - k) / stride) + 1;
  const y = new Float64Array(planes * ho * wo);
  const arg = new Int32Array(y.length);
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        let best = -Infinity;
        let at = -1;
        for (let u = 0; u < k; u++) {
          for (let v = 0; v < k; v++) {
            const r = i * stride - pad + u;
            const q = j * stride - pad + v;
            if (r < 0 || r >= h || q < 0 || q >= w) continue;
            const value = x[(p * h + r) * w + q];
            if (at < 0 || value > best) [best, at] = [value, r * w + q];
          }
        }
        y[(p * ho + i) * wo + j] = best;
        arg[(p * ho + i) * wo + j] = at;
      }
    }
  }
  return { y, arg };
}

/** ẏ = ẋ at each window's argmax (transpose false), or dx = Σ dy over the windows that chose each input. */
export function maxPoolJacobianRef(x: ArrayLike<number>, v: ArrayLike<number>, planes: number, h: number, w: number, k: number, stride: number, pad: number, transpose: boolean): Float64Array {
  const { arg } = maxPoolRef(x, planes, h, w, k, stride, pad);
  const per = arg.length / planes;
  if (!transpose) return Float64Array.from(arg, (a, o) => v[Math.floor(o / per) * h * w + a]);
  const dx = new Float64Array(planes * h * w);
  arg.forEach((a, o) => (dx[Math.floor(o / per) * h * w + a] += v[o]));
  return dx;
}
