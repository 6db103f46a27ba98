// GELU in its tanh form (PyTorch's nn.GELU(approximate='tanh'); WGSL has tanh but no erf):
//   gelu:           y = x·Φ̃(x),  Φ̃(x) = (1 + tanh(u))/2,  u = sqrt(2/π)·(x + 0.044715·x³)
//   geluLinearized: out = g ⊙ gelu′(x),  gelu′(x) = Φ̃(x) + x·(1 − tanh²u)/2 · sqrt(2/π)·(1 + 3·0.044715·x²)
// The derivative is diagonal, so the one kernel is the backward pass (g = dy) and the forward-mode product
// (g = ẋ); it reads the layer's input, not its output. Elementwise, one invocation per value.
import { FLAT_WORKGROUP_INDEX, ceilDiv, flatGrid, type KernelDef } from '../src/gpu/kernel.ts';

const WG = 256;

const GELU = /* wgsl */ `
const K0 = 0.7978845608028654;
const K1 = 0.044715;
// tanh through exp of a non-positive argument: no overflow for large |u| (WGSL's tanh may be computed that way too).
fn tanhSafe(u: f32) -> f32 {
  let t = exp(-2.0 * abs(u));
  return sign(u) * (1.0 - t) / (1.0 + t);
}`;

export const gelu: KernelDef<{ count: number }> = {
  name: 'gelu',
  key: 'gelu',
  source: /* wgsl */ `
struct Params { count: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
${GELU}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (e >= p.count) { return; }
  let v = x[e];
  y[e] = 0.5 * v * (1.0 + tanhSafe(K0 * (v + K1 * v * v * v)));
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'write', 'uniform'],
  grid: (s) => flatGrid(ceilDiv(s.count, WG)),
  uniforms: (s) => Uint32Array.of(s.count, 0, 0, 0),
};

export const geluLinearized: KernelDef<{ count: number }> = {
  name: 'gelu derivative',
  key: 'gelu-linearized',
  source: /* wgsl */ `
struct Params { count: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
${GELU}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (e >= p.count) { return; }
  let v = x[e];
  let t = tanhSafe(K0 * (v + K1 * v * v * v));
  out[e] = g[e] * (0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * K0 * (1.0 + 3.0 * K1 * v * v));
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'read', 'write', 'uniform'],
  grid: (s) => flatGrid(ceilDiv(s.count, WG)),
  uniforms: (s) => Uint32Array.of(s.count, 0, 0, 0),
};
