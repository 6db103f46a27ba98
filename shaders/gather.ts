// Gathers by an index list that lives on the GPU, how a batch is taken from data uploaded once:
//   gatherRows:  out[i, :] = src[index[i], :]              (a batch's inputs and targets)
//   gatherBlock: out[i, j] = src[index[i], index[j]]       (a batch's block of a square matrix over the whole
//                                                           set, such as the Gram X·Xᵀ of the inputs)
// An index past the source's rows yields NaN, so a bad batch poisons the loss visibly instead of reading
// another example's data.
import { FLAT_WORKGROUP_INDEX, ceilDiv, flatGrid, type KernelDef } from '../src/gpu/kernel.ts';

export interface GatherShape {
  /** Rows gathered (length of the index list). */
  rows: number;
  cols: number;
  /** Rows of the source matrix. */
  srcRows: number;
}

const WG = 256;

export const gatherRows: KernelDef<GatherShape> = {
  name: 'gather rows',
  key: 'gather-rows',
  source: /* wgsl */ `
// nanBits holds the bits of a quiet NaN: WGSL refuses NaN as a constant, so it arrives as a runtime value.
struct Params { count: u32, cols: u32, srcRows: u32, nanBits: u32 }

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> index: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (e >= p.count) { return; }
  let row = index[e / p.cols];
  if (row >= p.srcRows) {
    out[e] = bitcast<f32>(p.nanBits);
    return;
  }
  out[e] = src[row * p.cols + e % p.cols];
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'read', 'write', 'uniform'],
  grid: (s) => flatGrid(ceilDiv(s.rows * s.cols, WG)),
  uniforms: (s) => Uint32Array.of(s.rows * s.cols, s.cols, s.srcRows, 0x7fc00000),
};

export interface GatherBlockShape {
  /** Entries of the index list: out is rows×rows. */
  rows: number;
  /** src is srcRows×srcRows. */
  srcRows: number;
}

export const gatherBlock: KernelDef<GatherBlockShape> = {
  name: 'gather block',
  key: 'gather-block',
  source: /* wgsl */ `
struct Params { count: u32, rows: u32, srcRows: u32, nanBits: u32 }

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> index: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  if (e >= p.count) { return; }
  let i = index[e / p.rows];
  let j = index[e % p.rows];
  if (i >= p.srcRows || j >= p.srcRows) {
    out[e] = bitcast<f32>(p.nanBits);
    return;
  }
  out[e] = src[i * p.srcRows + j];
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'read', 'write', 'uniform'],
  grid: (s) => flatGrid(ceilDiv(s.rows * s.rows, WG)),
  uniforms: (s) => Uint32Array.of(s.rows * s.rows, s.rows, s.srcRows, 0x7fc00000),
};
