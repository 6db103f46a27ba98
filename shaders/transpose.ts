// out = inᵀ for a row-major rows×cols matrix: the loss residual (n×k, example-major) in the NTK's
// output-major order (row a·n + i).
import { FLAT_WORKGROUP_INDEX, ceilDiv, flatGrid, type KernelDef } from '../src/gpu/kernel.ts';

const WG = 256;

export const transpose: KernelDef<{ rows: number; cols: number }> = {
  name: 'transpose',
  key: 'transpose',
  source: /* wgsl */ `
struct Params { rows: u32, cols: u32, pad0: u32, pad1: u32 }

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (e >= p.rows * p.cols) { return; }
  let i = e / p.cols;
  let j = e % p.cols;
  dst[j * p.rows + i] = src[e];
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'write', 'uniform'],
  grid: (s) => flatGrid(ceilDiv(s.rows * s.cols, WG)),
  uniforms: (s) => Uint32Array.of(s.rows, s.cols, 0, 0),
};
