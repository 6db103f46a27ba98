// Softmax cross-entropy for a b×k batch of logits f and targets y (one-hot, or any distribution), one
// invocation per example (k is small: 10 classes):
//   loss_r    = logsumexp(f_r) − Σ_j y_rj f_rj        (summed and divided by b on the host: L = mean loss)
//   correct_r = 1 if argmax f_r = argmax y_r else 0  (first maximum on ties)
//   seed_r    = (softmax(f_r) − y_r) / B             (∂L/∂f, the backward pass's seed; B = b, or the whole
//                                                     batch's size when these rows are one micro-batch of it)
import { FLAT_WORKGROUP_INDEX, ceilDiv, flatGrid, type KernelDef } from '../src/gpu/kernel.ts';

export interface XentShape {
  rows: number;
  classes: number;
  /** B, what the seed divides by: rows by default. */
  divisor?: number;
}

const WG = 64;

export const softmaxCrossEntropy: KernelDef<XentShape> = {
  name: 'softmax cross-entropy',
  key: 'softmax-xent',
  source: /* wgsl */ `
struct Params { rows: u32, classes: u32, divisor: u32, pad1: u32 }

@group(0) @binding(0) var<storage, read> f: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> rowLoss: array<f32>;
@group(0) @binding(3) var<storage, read_write> rowCorrect: array<f32>;
@group(0) @binding(4) var<storage, read_write> seed: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let r = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (r >= p.rows) { return; }
  let base = r * p.classes;
  // Shift by the largest logit so exp never overflows.
  var fmax = f[base];
  var fArg = 0u;
  var yMax = y[base];
  var yArg = 0u;
  for (var j = 1u; j < p.classes; j++) {
    if (f[base + j] > fmax) { fmax = f[base + j]; fArg = j; }
    if (y[base + j] > yMax) { yMax = y[base + j]; yArg = j; }
  }
  var total = 0.0;
  var dot = 0.0;
  for (var j = 0u; j < p.classes; j++) {
    total += exp(f[base + j] - fmax);
    dot += y[base + j] * f[base + j];
  }
  rowLoss[r] = fmax + log(total) - dot;
  rowCorrect[r] = select(0.0, 1.0, fArg == yArg);
  let scale = 1.0 / f32(p.divisor);
  for (var j = 0u; j < p.classes; j++) {
    seed[base + j] = (exp(f[base + j] - fmax) / total - y[base + j]) * scale;
  }
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'read', 'write', 'write', 'write', 'uniform'],
  grid: (s) => flatGrid(ceilDiv(s.rows, WG)),
  uniforms: (s) => Uint32Array.of(s.rows, s.classes, s.divisor ?? s.rows, 0),
};
