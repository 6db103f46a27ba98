// y = x / s[index]: normalizing by a norm that a reduction left on the GPU, so iterative methods (power
// iteration, Lanczos) run without reading scalars back between steps.
import { FLAT_WORKGROUP_INDEX, ceilDiv, flatGrid, type KernelDef } from '../src/gpu/kernel.ts';

export interface DivideShape {
  count: number;
  /** Index of the divisor in the scalar buffer. */
  index: number;
}

const WG = 256;

export const divideByScalar: KernelDef<DivideShape> = {
  name: 'divide by GPU scalar',
  key: 'divide-by-scalar',
  source: /* wgsl */ `
struct Params { count: u32, index: u32, pad0: u32, pad1: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> s: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (e >= p.count) { return; }
  y[e] = x[e] / s[p.index];
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'read', 'write', 'uniform'],
  grid: (s) => flatGrid(ceilDiv(s.count, WG)),
  uniforms: (s) => Uint32Array.of(s.count, s.index, 0, 0),
};
