// Float64 reference of the optimizers: torch.optim's single-tensor update rules, step by step.
import type { ResolvedOptimizer } from '../optim/optimizer.ts';

export class OptimizerRef {
  private t = 0;
  private readonly s: Record<string, Float64Array> = {};

  constructor(
    private readonly h: ResolvedOptimizer,
    readonly params: Float64Array,
  ) {
    const n = params.length;
    for (const k of ['b', 'v', 'a', 'm', 'w', 'u', 'sum']) this.s[k] = new Float64Array(n);
    this.s.sum.fill(h.initialAccumulatorValue);
  }

  step(grad: ArrayLike<number>, lr: number): void {
    const { h, params: p, s } = this;
    const t = ++this.t;
    for (let i = 0; i < p.length; i++) {
      let g = grad[i] + h.weightDecay * p[i];
      switch (h.name) {
        case 'gd':
        case 'sgd':
          if (h.momentum > 0) {
            s.b[i] = t === 1 ? g : h.momentum * s.b[i] + (1 - h.dampening) * g;
            g = h.nesterov ? g + h.momentum * s.b[i] : s.b[i];
          }
          p[i] -= lr * g;
          break;
        case 'rmsprop': {
          s.v[i] = h.alpha * s.v[i] + (1 - h.alpha) * g * g;
          let v = s.v[i];
          if (h.centered) {
            s.a[i] = h.alpha * s.a[i] + (1 - h.alpha) * g;
            v -= s.a[i] * s.a[i];
          }
          const d = Math.sqrt(v) + h.eps;
          if (h.momentum > 0) {
            s.b[i] = h.momentum * s.b[i] + g / d;
            p[i] -= lr * s.b[i];
          } else p[i] -= (lr * g) / d;
          break;
        }
        case 'adagrad':
          s.sum[i] += g * g;
          p[i] -= ((lr / (1 + (t - 1) * h.lrDecay)) * g) / (Math.sqrt(s.sum[i]) + h.eps);
          break;
        case 'adadelta': {
          s.v[i] = h.rho * s.v[i] + (1 - h.rho) * g * g;
          const delta = (Math.sqrt(s.u[i] + h.eps) / Math.sqrt(s.v[i] + h.eps)) * g;
          s.u[i] = h.rho * s.u[i] + (1 - h.rho) * delta * delta;
          p[i] -= lr * delta;
          break;
        }
        case 'adam': {
          const [b1, b2] = h.betas;
          s.m[i] = b1 * s.m[i] + (1 - b1) * g;
          s.v[i] = b2 * s.v[i] + (1 - b2) * g * g;
          const w = h.amsgrad ? (s.w[i] = Math.max(s.w[i], s.v[i])) : s.v[i];
          p[i] -= ((lr / (1 - b1 ** t)) * s.m[i]) / (Math.sqrt(w) / Math.sqrt(1 - b2 ** t) + h.eps);
          break;
        }
      }
    }
  }
}

/**
 * Float64 reference of the diagonal preconditioner P of step t (1-based) of an adaptive optimizer, from the
 * state before the update (torch.optim's names, as Optimizer.exportState gives them), the parameters and the
 * step's gradient: the update is θ −= lr·P⊙g with momentum ignored (Adam's m̂ taken as g).
 */
export function preconditionerRef(h: ResolvedOptimizer, state: Record<string, ArrayLike<number>>, params: ArrayLike<number>, grad: ArrayLike<number>, t: number): Float64Array {
  const P = new Float64Array(params.length);
  for (let i = 0; i < P.length; i++) {
    const g = grad[i] + h.weightDecay * params[i];
    switch (h.name) {
      case 'rmsprop': {
        let v = h.alpha * state.square_avg[i] + (1 - h.alpha) * g * g;
        if (h.centered) v -= (h.alpha * state.grad_avg[i] + (1 - h.alpha) * g) ** 2;
        P[i] = 1 / (Math.sqrt(v) + h.eps);
        break;
      }
      case 'adagrad':
        P[i] = 1 / ((1 + (t - 1) * h.lrDecay) * (Math.sqrt(state.sum[i] + g * g) + h.eps));
        break;
      case 'adadelta':
        P[i] = Math.sqrt(state.acc_delta[i] + h.eps) / Math.sqrt(h.rho * state.square_avg[i] + (1 - h.rho) * g * g + h.eps);
        break;
      case 'adam': {
        const v = h.betas[1] * state.exp_avg_sq[i] + (1 - h.betas[1]) * g * g;
        const w = h.amsgrad ? Math.max(state.max_exp_avg_sq[i], v) : v;
        P[i] = 1 / (Math.sqrt(w) / Math.sqrt(1 - h.betas[1] ** t) + h.eps);
        break;
      }
      default:
        throw new RangeError(`${h.name} has no preconditioner`);
    }
  }
  return P;
}
