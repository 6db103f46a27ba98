// Float64 references of the elementwise nonlinearities of shaders/pointwise.ts, written independently of the
// kernels: erf by its Maclaurin series up to |x| = 2 (terms summed until they stop changing the sum; the
// largest term there is about 2.4, so the rounding error stays near 1e-15) and by the continued fraction of
// erfc beyond (evaluated from the tail, 300 levels: converged to float64 for x ≥ 2).
import type { PointwiseFunction } from '../../shaders/pointwise.ts';

export function erfRef(x: number): number {
  const a = Math.abs(x);
  if (a <= 2) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      if (sum + add === sum) break;
      sum += add;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(a) = exp(−a²)/sqrt(π) · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + 2/(a + …)))))
  let f = a;
  for (let n = 300; n >= 1; n--) f = a + n / 2 / f;
  const erfc = Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export function pointwiseRef(f: PointwiseFunction, x: number): number {
  if (f === 'sigmoid') return sigmoid(x);
  if (f === 'tanh') return Math.tanh(x);
  return 0.5 * x * (1 + erfRef(x / Math.SQRT2));
}

/** f′(x). */
export function pointwiseSlopeRef(f: PointwiseFunction, x: number): number {
  if (f === 'sigmoid') return sigmoid(x) * (1 - sigmoid(x));
  if (f === 'tanh') return 1 - Math.tanh(x) ** 2;
  return 0.5 * (1 + erfRef(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);
}
