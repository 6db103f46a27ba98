// Which examples a b×k output classifies correctly, for losses that have no argmax of their own (MSE on class
// targets), one invocation per example:
//   k = 1 (±1 targets):    correct_r = 1 if f_r and y_r have the same sign (f_r = 0 counts as −1)
//   k > 1 (one-hot rows):  correct_r = 1 if argmax f_r = argmax y_r (first maximum on ties, as softmax-xent.ts)
import { FLAT_WORKGROUP_INDEX, ceilDiv, flatGrid, type KernelDef } from '../src/gpu/kernel.ts';

export interface ClassifyShape {
  rows: number;
  classes: number;
}

const WG = 64;

export const classifyCorrect: KernelDef<ClassifyShape> = {
  name: 'correct classifications',
  key: 'classify-correct',
  source: /* wgsl */ `
struct Params { rows: u32, classes: u32, pad0: u32, pad1: u32 }

@group(0) @binding(0) var<storage, read> f: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> rowCorrect: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let r = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (r >= p.rows) { return; }
  let base = r * p.classes;
  if (p.classes == 1u) {
    rowCorrect[r] = select(0.0, 1.0, (f[r] > 0.0) == (y[r] > 0.0));
    return;
  }
  var fMax = f[base];
  var fArg = 0u;
  var yMax = y[base];
  var yArg = 0u;
  for (var j = 1u; j < p.classes; j++) {
    if (f[base + j] > fMax) { fMax = f[base + j]; fArg = j; }
    if (y[base + j] > yMax) { yMax = y[base + j]; yArg = j; }
  }
  rowCorrect[r] = select(0.0, 1.0, fArg == yArg);
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'read', 'write', 'uniform'],
  grid: (s) => flatGrid(ceilDiv(s.rows, WG)),
  uniforms: (s) => Uint32Array.of(s.rows, s.classes, 0, 0),
};
