// Float64 reference of the fully connected network: forward activations, the MSE loss L = (1/b)‖f − y‖²,
// and the gradients of any output seed with respect to the parameters and the inputs.
import type { ParamLayout } from '../nn/layout.ts';
import { matmulRef } from './kernels.ts';

export interface RefForward {
  /** acts[0] = X, acts[l + 1] = the output of layer l (b×fanOut), all float64. */
  acts: Float64Array[];
  b: number;
}

export function mlpForwardRef(layout: ParamLayout, params: ArrayLike<number>, x: ArrayLike<number>, b: number): RefForward {
  const acts: Float64Array[] = [Float64Array.from(x as ArrayLike<number>)];
  for (const l of layout.layers) {
    const W = Float64Array.from({ length: l.fanIn * l.fanOut }, (_, i) => params[l.weightOffset + i]);
    const z = matmulRef(acts[acts.length - 1], W, b, l.fanOut, l.fanIn, false, true);
    for (let r = 0; r < b; r++) {
      for (let j = 0; j < l.fanOut; j++) {
        let v = l.weightScale * z[r * l.fanOut + j];
        if (l.biasOffset >= 0) v += l.biasScale * params[l.biasOffset + j];
        z[r * l.fanOut + j] = l.activation === 'relu' ? Math.max(v, 0) : v;
      }
    }
    acts.push(z);
  }
  return { acts, b };
}

/** L = (1/b)‖f − y‖² over the b×k outputs. */
export function mseRef(f: ArrayLike<number>, y: ArrayLike<number>, b: number): number {
  let s = 0;
  for (let i = 0; i < f.length; i++) s += (f[i] - y[i]) ** 2;
  return s / b;
}

export interface RefBackward {
  /** Gradient of Σ seed ⊙ f with respect to the flat parameters (zero for frozen layers and padding). */
  grads: Float64Array;
  /** Its gradient with respect to the inputs, b×d. */
  inputGrad: Float64Array;
}

export function mlpBackwardRef(layout: ParamLayout, params: ArrayLike<number>, fwd: RefForward, seed: ArrayLike<number>): RefBackward {
  const { acts, b } = fwd;
  const grads = new Float64Array(layout.size);
  let delta = Float64Array.from(seed as ArrayLike<number>);
  let inputGrad = new Float64Array(0);
  for (let li = layout.layers.length - 1; li >= 0; li--) {
    const l = layout.layers[li];
    const A = acts[li];
    if (!l.frozen) {
      const gW = matmulRef(delta, A, l.fanOut, l.fanIn, b, true, false);
      for (let i = 0; i < gW.length; i++) grads[l.weightOffset + i] = l.weightScale * gW[i];
      if (l.biasOffset >= 0) {
        for (let j = 0; j < l.fanOut; j++) {
          let s = 0;
          for (let r = 0; r < b; r++) s += delta[r * l.fanOut + j];
          grads[l.biasOffset + j] = l.biasScale * s;
        }
      }
    }
    const W = Float64Array.from({ length: l.fanIn * l.fanOut }, (_, i) => params[l.weightOffset + i]);
    const g = matmulRef(delta, W, b, l.fanIn, l.fanOut).map((v) => l.weightScale * v);
    if (li === 0) inputGrad = g;
    else delta = g.map((v, i) => (A[i] > 0 ? v : 0));
  }
  return { grads, inputGrad };
}

/** Mean softmax cross-entropy, accuracy (first maximum on ties) and ∂L/∂f, in float64. */
export function softmaxCrossEntropyRef(f: ArrayLike<number>, y: ArrayLike<number>, b: number, k: number) {
  let loss = 0;
  let correct = 0;
  const seed = new Float64Array(b * k);
  for (let r = 0; r < b; r++) {
    const row = Array.from({ length: k }, (_, j) => f[r * k + j]);
    const target = Array.from({ length: k }, (_, j) => y[r * k + j]);
    const max = Math.max(...row);
    const total = row.reduce((s, v) => s + Math.exp(v - max), 0);
    loss += max + Math.log(total) - row.reduce((s, v, j) => s + v * target[j], 0);
    if (row.indexOf(max) === target.indexOf(Math.max(...target))) correct++;
    for (let j = 0; j < k; j++) seed[r * k + j] = (Math.exp(row[j] - max) / total - target[j]) / b;
  }
  return { loss: loss / b, accuracy: correct / b, seed };
}
