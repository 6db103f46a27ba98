// Float64 reference of the networks of src/nn (graphs of linear, conv2d, ReLU, average and global average
// pooling, flatten, the residual join, and the transformer's layer norm with its affine part, GELU,
// attention and position embeddings), written from the layers' descriptions only (shapes, scales, activation, parameter layout)
// with plain loops, independently of the GPU kernels: the forward pass, the backward pass of any output seed
// (parameter and input gradients), the forward-mode product J·u, and the NTK K = J·Jᵀ from per-example rows of J.
// Tensors are NCHW rows, as on the GPU; parameters are read from the flat layout (PyTorch's shapes).
import { isParamLayer, type Layer, type ParamLayer } from '../nn/layer.ts';
import type { AvgPool } from '../nn/layers/avgpool.ts';
import type { Conv2d } from '../nn/layers/conv2d.ts';
import { shapeSize } from '../nn/network.ts';
import type { ParamLayout } from '../nn/params.ts';
import type { Attention } from '../nn/layers/attention.ts';
import type { LayerNorm } from '../nn/layers/layernorm.ts';
import type { Pointwise } from '../nn/layers/pointwise.ts';
import { pointwiseRef, pointwiseSlopeRef } from './pointwise.ts';
import { avgPoolAdjointRef, avgPoolRef, conv2dAdjointRef, conv2dRef, globalAvgPoolAdjointRef, globalAvgPoolRef, maxPoolJacobianRef, maxPoolRef, type ConvRefGeometry } from './conv.ts';
import type { MaxPool } from '../nn/layers/maxpool.ts';
import { attentionJacobianRef, attentionRef, geluDerivativeRef, geluRef, layerNormJacobianRef, layerNormRef, type AttentionRefShape } from './transformer.ts';

export interface RefNet {
  layers: readonly Layer[];
  layout: ParamLayout;
  /** Which earlier nodes each layer reads (−1: the input); a chain when absent. */
  inputs?: readonly (readonly number[])[];
}

const wiring = (net: RefNet): readonly (readonly number[])[] => net.inputs ?? net.layers.map((_, i) => [i - 1]);

export interface RefForward {
  /** inputs[i] and outputs[i] of each layer (b rows each); pre[i] of parametrized layers. */
  inputs: Float64Array[];
  outputs: Float64Array[];
  pre: (Float64Array | null)[];
  b: number;
}

function tensorsOf(net: RefNet, layer: ParamLayer, params: ArrayLike<number>): { W: Float64Array; bias: Float64Array | null } {
  const find = (i: number) => (layer.params[i] ? net.layout.tensors.find((t) => t.name === layer.params[i].name) : undefined);
  const w = find(0)!;
  const b = find(1);
  const slice = (o: number, n: number) => Float64Array.from({ length: n }, (_, i) => params[o + i]);
  return { W: slice(w.offset, w.count), bias: b ? slice(b.offset, b.count) : null };
}

/** The kernels' geometry of a convolution layer for b examples. */
function geometry(layer: ParamLayer, b: number): ConvRefGeometry {
  const l = layer as unknown as Conv2d;
  return { b, cin: l.inShape[0], h: l.inShape[1], w: l.inShape[2], cout: l.outShape[0], k: l.kernel, stride: l.stride, pad: l.padding };
}

/** pre = c·op(x; W) + β·b for one parametrized layer (b rows). */
function affine(layer: ParamLayer, W: ArrayLike<number>, bias: ArrayLike<number> | null, x: ArrayLike<number>, b: number): Float64Array {
  const c = layer.ntk.c;
  const beta = layer.ntk.beta;
  const out = shapeSize(layer.outShape);
  const pre = new Float64Array(b * out);
  if (layer.kind === 'linear') {
    const n = shapeSize(layer.inShape);
    for (let r = 0; r < b; r++) {
      for (let o = 0; o < out; o++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += x[r * n + i] * W[o * n + i];
        pre[r * out + o] = c * s + (bias ? beta * bias[o] : 0);
      }
    }
    return pre;
  }
  if (layer.kind === 'affine' || layer.kind === 'posembed') {
    const C = layer.inShape[0];
    const P = layer.inShape[1] * layer.inShape[2];
    for (let r = 0; r < b; r++) {
      for (let ch = 0; ch < C; ch++) {
        for (let q = 0; q < P; q++) {
          const e = (r * C + ch) * P + q;
          pre[e] = layer.kind === 'affine' ? c * W[ch] * x[e] + (bias ? beta * bias[ch] : 0) : x[e] + c * W[ch * P + q];
        }
      }
    }
    return pre;
  }
  return conv2dRef(geometry(layer, b), x, W, c, bias, beta);
}

/** The adjoint of affine's linear part: (∇W, ∇b, dx) from δ = ∂/∂pre. */
function affineAdjoint(layer: ParamLayer, W: ArrayLike<number>, x: ArrayLike<number>, delta: ArrayLike<number>, b: number) {
  const c = layer.ntk.c;
  const beta = layer.ntk.beta;
  const gW = new Float64Array(W.length);
  const gb = new Float64Array(layer.outShape[0]);
  const dx = new Float64Array(b * shapeSize(layer.inShape));
  if (layer.kind === 'linear') {
    const n = shapeSize(layer.inShape);
    const out = shapeSize(layer.outShape);
    for (let r = 0; r < b; r++) {
      for (let o = 0; o < out; o++) {
        const d = delta[r * out + o];
        gb[o] += beta * d;
        for (let i = 0; i < n; i++) {
          gW[o * n + i] += c * d * x[r * n + i];
          dx[r * n + i] += c * d * W[o * n + i];
        }
      }
    }
    return { gW, gb, dx };
  }
  if (layer.kind === 'affine' || layer.kind === 'posembed') {
    const C = layer.inShape[0];
    const P = layer.inShape[1] * layer.inShape[2];
    for (let r = 0; r < b; r++) {
      for (let ch = 0; ch < C; ch++) {
        for (let q = 0; q < P; q++) {
          const e = (r * C + ch) * P + q;
          if (layer.kind === 'affine') {
            gW[ch] += c * delta[e] * x[e];
            gb[ch] += beta * delta[e];
            dx[e] = c * W[ch] * delta[e];
          } else {
            gW[ch * P + q] += c * delta[e];
            dx[e] = delta[e];
          }
        }
      }
    }
    return { gW, gb, dx };
  }
  const adj = conv2dAdjointRef(geometry(layer, b), x, W, delta, c, beta);
  return { gW: adj.dW, gb: adj.db, dx: adj.dx };
}

const attentionShape = (layer: Layer, b: number): AttentionRefShape => ({ b, D: layer.outShape[0], heads: (layer as Attention).heads, T: layer.inShape[1] * layer.inShape[2] });
const positions = (layer: Layer) => layer.inShape[1] * layer.inShape[2];

/** A parameter-free layer's forward map. */
function freeForward(layer: Layer, x: ArrayLike<number>, b: number): Float64Array {
  if (layer.kind === 'relu') return Float64Array.from(x as ArrayLike<number>, (v) => Math.max(v, 0));
  if (layer.kind === 'gelu') return Float64Array.from(x as ArrayLike<number>, geluRef);
  if (layer.kind === 'pointwise') return Float64Array.from(x as ArrayLike<number>, (v) => pointwiseRef((layer as Pointwise).fn, v));
  if (layer.kind === 'layernorm') return layerNormRef(x, b, layer.inShape[0], positions(layer), (layer as LayerNorm).eps);
  if (layer.kind === 'attention') return attentionRef(x, attentionShape(layer, b)).y;
  if (layer.kind === 'flatten') return Float64Array.from(x as ArrayLike<number>);
  const [c, h, w] = layer.inShape;
  if (layer.kind === 'maxpool') return maxPoolRef(x, b * c, h, w, (layer as MaxPool).window, (layer as MaxPool).stride, (layer as MaxPool).padding).y;
  if (layer.kind === 'globalavgpool') return globalAvgPoolRef(x, b * c, h * w);
  return avgPoolRef(x, b * c, h, w, (layer as AvgPool).window);
}

/** A parameter-free layer's Jacobian at x (output y) applied to v, or its transpose (dx from dy). */
function freeJacobian(layer: Layer, x: ArrayLike<number>, y: ArrayLike<number>, v: ArrayLike<number>, b: number, transpose: boolean): Float64Array {
  if (layer.kind === 'relu') return Float64Array.from(v as ArrayLike<number>, (g, i) => (y[i] > 0 ? g : 0));
  if (layer.kind === 'gelu') return Float64Array.from(v as ArrayLike<number>, (g, i) => g * geluDerivativeRef(x[i]));
  if (layer.kind === 'pointwise') return Float64Array.from(v as ArrayLike<number>, (g, i) => g * pointwiseSlopeRef((layer as Pointwise).fn, x[i]));
  if (layer.kind === 'layernorm') return layerNormJacobianRef(x, v, b, layer.inShape[0], positions(layer), (layer as LayerNorm).eps);
  if (layer.kind === 'attention') return attentionJacobianRef(x, attentionShape(layer, b), v, transpose);
  if (layer.kind === 'maxpool') {
    const m = layer as MaxPool;
    return maxPoolJacobianRef(x, v, b * m.inShape[0], m.inShape[1], m.inShape[2], m.window, m.stride, m.padding, transpose);
  }
  if (!transpose) return freeForward(layer, v, b); // average pooling and flatten are linear
  if (layer.kind === 'flatten') return Float64Array.from(v as ArrayLike<number>);
  const [c, h, w] = layer.inShape;
  if (layer.kind === 'globalavgpool') return globalAvgPoolAdjointRef(v, b * c, h * w);
  return avgPoolAdjointRef(v, b * c, h, w, (layer as AvgPool).window);
}

export function forwardRef(net: RefNet, params: ArrayLike<number>, x: ArrayLike<number>, b: number): RefForward {
  const inputs: Float64Array[] = [];
  const outputs: Float64Array[] = [];
  const pre: (Float64Array | null)[] = [];
  const X = Float64Array.from(x as ArrayLike<number>);
  const node = (j: number) => (j < 0 ? X : outputs[j]);
  for (const [i, layer] of net.layers.entries()) {
    const from = wiring(net)[i];
    const a = node(from[0]);
    inputs.push(a);
    let y: Float64Array;
    if (layer.kind === 'add') {
      const other = node(from[1]);
      pre.push(null);
      y = a.map((v, e) => v + other[e]);
    } else if (isParamLayer(layer)) {
      const { W, bias } = tensorsOf(net, layer, params);
      const z = affine(layer, W, bias, a, b);
      pre.push(z);
      y = layer.activation === 'relu' ? z.map((v) => Math.max(v, 0)) : z;
    } else {
      pre.push(null);
      y = freeForward(layer, a, b);
    }
    outputs.push(y);
  }
  return { inputs, outputs, pre, b };
}

export interface RefBackward {
  /** ∂(Σ seed ⊙ f)/∂θ over the flat layout (zero for frozen tensors and padding). */
  grads: Float64Array;
  /** ∂(Σ seed ⊙ f)/∂x, b×inputSize. */
  inputGrad: Float64Array;
}

/** dy += part, or dy = part when there is none yet. */
const accumulate = (into: (Float64Array | null)[], at: number, part: Float64Array) => {
  const have = into[at];
  if (!have) into[at] = Float64Array.from(part);
  else for (let e = 0; e < part.length; e++) have[e] += part[e];
};

export function backwardRef(net: RefNet, params: ArrayLike<number>, fwd: RefForward, seed: ArrayLike<number>): RefBackward {
  const grads = new Float64Array(net.layout.size);
  // The gradient with respect to each node's output, at index node + 1 (0: the input).
  const dys: (Float64Array | null)[] = new Array(net.layers.length + 1).fill(null);
  dys[net.layers.length] = Float64Array.from(seed as ArrayLike<number>);
  for (let i = net.layers.length - 1; i >= 0; i--) {
    const layer = net.layers[i];
    const from = wiring(net)[i];
    const dy = dys[i + 1] ?? new Float64Array(fwd.outputs[i].length);
    if (layer.kind === 'add') {
      accumulate(dys, from[0] + 1, dy);
      accumulate(dys, from[1] + 1, dy);
      continue;
    }
    if (!isParamLayer(layer)) {
      accumulate(dys, from[0] + 1, freeJacobian(layer, fwd.inputs[i], fwd.outputs[i], dy, fwd.b, true));
      continue;
    }
    const delta = layer.activation === 'relu' ? dy.map((v, e) => (fwd.outputs[i][e] > 0 ? v : 0)) : dy;
    const { W } = tensorsOf(net, layer, params);
    const { gW, gb, dx } = affineAdjoint(layer, W, fwd.inputs[i], delta, fwd.b);
    const [w, bt] = layer.params.map((p) => net.layout.tensors.find((t) => t.name === p.name)!);
    if (!w.frozen) {
      grads.set(gW, w.offset);
      if (bt) grads.set(gb, bt.offset);
    }
    accumulate(dys, from[0] + 1, dx);
  }
  return { grads, inputGrad: dys[0] ?? new Float64Array(fwd.inputs[0].length) };
}

/** J·u: the directional derivative of the outputs along the parameter tangent u (frozen tensors excluded). */
export function jvpRef(net: RefNet, params: ArrayLike<number>, fwd: RefForward, tangent: ArrayLike<number>): Float64Array {
  const tangents: Float64Array[] = [];
  const zero = new Float64Array(fwd.inputs[0].length);
  const of = (j: number) => (j < 0 ? zero : tangents[j]);
  for (const [i, layer] of net.layers.entries()) {
    const from = wiring(net)[i];
    const adot = of(from[0]);
    if (layer.kind === 'add') {
      const other = of(from[1]);
      tangents.push(adot.map((v, e) => v + other[e]));
      continue;
    }
    if (!isParamLayer(layer)) {
      tangents.push(freeJacobian(layer, fwd.inputs[i], fwd.outputs[i], adot, fwd.b, false));
      continue;
    }
    const { W } = tensorsOf(net, layer, params);
    const [w, bt] = layer.params.map((p) => net.layout.tensors.find((t) => t.name === p.name)!);
    if (layer.kind === 'posembed') {
      // ḣ = ẋ + c·u: affine in x with the identity as its linear part.
      tangents.push(adot.map((v, e) => v + (w.frozen ? 0 : layer.ntk.c * tangent[w.offset + (e % w.count)])));
      continue;
    }
    let hdot = affine(layer, W, null, adot, fwd.b);
    if (!w.frozen) {
      const U = Float64Array.from({ length: w.count }, (_, e) => tangent[w.offset + e]);
      const ub = bt ? Float64Array.from({ length: bt.count }, (_, e) => tangent[bt.offset + e]) : null;
      const fromU = affine(layer, U, ub, fwd.inputs[i], fwd.b);
      hdot = hdot.map((v, e) => v + fromU[e]);
    }
    tangents.push(layer.activation === 'relu' ? hdot.map((v, e) => (fwd.outputs[i][e] > 0 ? v : 0)) : hdot);
  }
  return tangents[tangents.length - 1];
}

/** Rows of J (output-major: row a·n + i is output a of example i), one backward pass per row. */
export function jacobianRowsRef(net: RefNet, params: ArrayLike<number>, x: ArrayLike<number>, n: number, k: number): Float64Array[] {
  const d = x.length / n;
  const rows: Float64Array[] = [];
  for (let a = 0; a < k; a++) {
    for (let i = 0; i < n; i++) {
      const fwd = forwardRef(net, params, Array.from({ length: d }, (_, j) => x[i * d + j]), 1);
      const seed = new Float64Array(k);
      seed[a] = 1;
      rows.push(backwardRef(net, params, fwd, seed).grads);
    }
  }
  return rows;
}

/** K = J·Jᵀ, nk×nk, output-major. */
export function ntkGraphRef(net: RefNet, params: ArrayLike<number>, x: ArrayLike<number>, n: number, k: number): Float64Array {
  const J = jacobianRowsRef(net, params, x, n, k);
  const m = n * k;
  const K = new Float64Array(m * m);
  for (let p = 0; p < m; p++) {
    for (let q = 0; q <= p; q++) {
      let s = 0;
      for (let t = 0; t < J[p].length; t++) s += J[p][t] * J[q][t];
      K[p * m + q] = K[q * m + p] = s;
    }
  }
  return K;
}

/** ∇θ of the MSE loss (1/b)‖f − y‖² in float64 (zero on frozen tensors and padding). */
export function mseGradientRef(net: RefNet, params: ArrayLike<number>, x: ArrayLike<number>, y: ArrayLike<number>, b: number): Float64Array {
  const fwd = forwardRef(net, params, x, b);
  const f = fwd.outputs[fwd.outputs.length - 1];
  return backwardRef(net, params, fwd, f.map((v, i) => (2 / b) * (v - y[i]))).grads;
}

/**
 * The Hessian of the MSE loss over the trainable parameters, size×size in float64, by central differences
 * of float64 gradients with a step (1e-6) far below any kink's distance in the small test networks.
 * Rows and columns of frozen tensors and padding are zero.
 */
export function mseHessianRef(net: RefNet, params: ArrayLike<number>, x: ArrayLike<number>, y: ArrayLike<number>, b: number): Float64Array {
  const P = net.layout.size;
  const H = new Float64Array(P * P);
  const trainable = new Uint8Array(P);
  for (const t of net.layout.tensors) if (!t.frozen) trainable.fill(1, t.offset, t.offset + t.count);
  const h = 1e-6;
  const theta = Float64Array.from(params as ArrayLike<number>);
  for (let j = 0; j < P; j++) {
    if (!trainable[j]) continue;
    const t0 = theta[j];
    theta[j] = t0 + h;
    const gp = mseGradientRef(net, theta, x, y, b);
    theta[j] = t0 - h;
    const gm = mseGradientRef(net, theta, x, y, b);
    theta[j] = t0;
    for (let i = 0; i < P; i++) H[i * P + j] = (gp[i] - gm[i]) / (2 * h);
  }
  // Symmetrize away the O(h²) asymmetry of the differences.
  for (let i = 0; i < P; i++) for (let j = 0; j < i; j++) H[i * P + j] = H[j * P + i] = (H[i * P + j] + H[j * P + i]) / 2;
  return H;
}
