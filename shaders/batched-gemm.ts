// Batched strided matrix products for attention: for every example e and head h (z = e·heads + h),
//   C_z = α · A_z · B_z + γ · C_z,   A_z: M×K, B_z: K×N, C_z: M×N,
// where each operand is a view into a larger buffer: element (r, c) of X_z sits at
//   X.offset + e·X.example + h·X.head + r·X.row + c·X.col,
// so a transposed operand is the same buffer with its row and column strides swapped (attention's Qᵀ·K and
// V·Pᵀ read the channel-major activations in place, with no transpose pass). Sizes are attention's (sequence
// length T and head width d_h, tens to a few hundred), so one invocation computes one entry of C with its
// reduction in order: no tiles, no atomics, the same bits every run. γ = 0 writes C without reading it.
import { FLAT_WORKGROUP_INDEX, ceilDiv, f32Bits, flatGrid, type KernelDef } from '../src/gpu/kernel.ts';

/** A strided view of one operand per (example, head), in floats. */
export interface StridedOperand {
  offset: number;
  example: number;
  head: number;
  row: number;
  col: number;
}

export interface BatchedGemmShape {
  /** Examples and heads: the batch is examples·heads products. */
  examples: number;
  heads: number;
  m: number;
  n: number;
  k: number;
  a: StridedOperand;
  b: StridedOperand;
  c: StridedOperand;
  alpha: number;
  /** γ: 0 overwrites C, 1 accumulates into it. */
  gamma: number;
}

const WG = 64;

const operand = (o: StridedOperand) => [o.offset, o.example, o.head, o.row, o.col, 0, 0, 0];

export const batchedGemm: KernelDef<BatchedGemmShape> = {
  name: 'batched strided matmul',
  key: 'batched-gemm',
  source: /* wgsl */ `
// 32 bytes each: a struct inside a uniform block is followed at a 16-byte boundary.
struct Operand { offset: u32, example: u32, head: u32, row: u32, col: u32, pad0: u32, pad1: u32, pad2: u32 }
struct Params {
  examples: u32, heads: u32, m: u32, n: u32,
  k: u32, alpha: f32, gamma: f32, pad0: u32,
  a: Operand, b: Operand, c: Operand,
}

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn base(o: Operand, z: u32) -> u32 {
  return o.offset + (z / p.heads) * o.example + (z % p.heads) * o.head;
}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = ${FLAT_WORKGROUP_INDEX} * ${WG}u + tid;
  let per = p.m * p.n;
  if (e >= p.examples * p.heads * per) { return; }
  let z = e / per;
  let i = (e % per) / p.n;
  let j = e % p.n;
  let a0 = base(p.a, z) + i * p.a.row;
  let b0 = base(p.b, z) + j * p.b.col;
  var acc = 0.0;
  for (var t = 0u; t < p.k; t++) { acc += A[a0 + t * p.a.col] * B[b0 + t * p.b.row]; }
  let at = base(p.c, z) + i * p.c.row + j * p.c.col;
  if (p.gamma == 0.0) { C[at] = p.alpha * acc; } else { C[at] = p.alpha * acc + p.gamma * C[at]; }
}
`,
  workgroupSize: [WG, 1, 1],
  bindings: ['read', 'read', 'write', 'uniform'],
  grid: (s) => flatGrid(ceilDiv(s.examples * s.heads * s.m * s.n, WG)),
  uniforms: (s) => Uint32Array.of(s.examples, s.heads, s.m, s.n, s.k, f32Bits(s.alpha), f32Bits(s.gamma), 0, ...operand(s.a), ...operand(s.b), ...operand(s.c)),
};
