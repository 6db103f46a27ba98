// Elementwise linear combination Z = a·X + b·Y of two same-sized arrays (b = 0 scales X alone): residuals
// f − y, the loss gradient (2/n)(f − y), optimizer-free updates in tests; and the in-place sum and product.
import { FLAT_WORKGROUP_INDEX, ceilDiv, f32Bits, flatGrid, type KernelDef } from '../src/gpu/kernel.ts';

export interface LincombShape {
  count: number;
  a: number;
  b: number;
}

const WG = 256;

export const lincomb: KernelDef<LincombShape> = {
  name: 'linear combination',
  key: 'lincomb',
  source: /* wgsl */ `
struct Params { count: u32, a: f32, b: f32, pad: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> z: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (e >= p.count) { return; }
  z[e] = p.a * x[e] + p.b * y[e];
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'read', 'write', 'uniform'],
  grid: (s) => flatGrid(ceilDiv(s.count, WG)),
  uniforms: (s) => Uint32Array.of(s.count, f32Bits(s.a), f32Bits(s.b), 0),
};

/** y = y ∘ x in place for an elementwise ∘: one dispatch may not bind a buffer both read-only and writable. */
function inPlace(name: string, key: string, expression: string): KernelDef<{ count: number }> {
  return {
    name,
    key,
    source: /* wgsl */ `
struct Params { count: u32, pad0: u32, pad1: u32, pad2: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (e >= p.count) { return; }
  y[e] = ${expression};
}
`,
    workgroupSize: [WG, 1, 1],
    bindings: ['read', 'write', 'uniform'],
    grid: (s) => flatGrid(ceilDiv(s.count, WG)),
    uniforms: (s) => Uint32Array.of(s.count, 0, 0, 0),
  };
}

/** y += x: accumulation (per-chunk gradients, Gram terms). */
export const addInPlace = inPlace('add in place', 'add-in-place', 'y[e] + x[e]');

/** y ⊙= x: a diagonal scaling (the optimizer's preconditioner applied to Jᵀv). */
export const multiplyInPlace = inPlace('multiply in place', 'multiply-in-place', 'y[e] * x[e]');
