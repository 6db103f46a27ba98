// Matrix product for small outputs with a long inner dimension, such as an n×n NTK block from n×p factors
// (n = 128, p = 100,000): a tiled kernel would launch a handful of workgroups and walk K serially. Here each
// workgroup owns an RM×RN block of C and its invocations split K between them: invocation t accumulates
// k = t, t+T, t+2T, ... in registers, then a tree in workgroup memory adds the T partial sums in a fixed order.
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { ceilDiv, f32Bits, memoByKey, type KernelDef } from '../src/gpu/kernel.ts';
import { opName, unroll, type GemmShape } from './gemm-tiled.ts';

export interface GemmReduceOptions {
  transA: boolean;
  transB: boolean;
  /** Output block per workgroup; RM·RN·threads·4 bytes of workgroup memory must fit the 16 KiB minimum. */
  rm?: number;
  rn?: number;
  /** Invocations per workgroup, a power of two. */
  threads?: number;
}

export const gemmReduce = memoByKey(
  (o: GemmReduceOptions) => `gemm-reduce:${o.transA ? 't' : 'n'}${o.transB ? 't' : 'n'}:${o.rm ?? 4}x${o.rn ?? 4}:${o.threads ?? 256}`,
  (o, key): KernelDef<GemmShape> => {
    const rm = o.rm ?? 4;
    const rn = o.rn ?? 4;
    const threads = o.threads ?? 256;
    if ((threads & (threads - 1)) !== 0) throw new RangeError(`gemm-reduce: threads must be a power of two, got ${threads}`);
    if (rm * rn > threads) throw new RangeError(`gemm-reduce: the ${rm}×${rn} block needs at least ${rm * rn} threads`);
    const { transA, transB } = o;
    const source = wgsl`
struct Params { M: u32, N: u32, K: u32, alpha: f32 }

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const RM = ${rm}u;
const RN = ${rn}u;
const T = ${threads}u;

// partial[e * T + t]: invocation t's sum for output e of the block.
var<workgroup> partial: array<f32, ${rm * rn * threads}>;

@compute @workgroup_size(T, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let row0 = wid.y * RM;
  let col0 = wid.x * RN;
  // Registers as named scalars (a dynamically indexed array lives in memory on some drivers). Rows and
  // columns past the edge are clamped onto the last one; the final store drops them.
${unroll(rm, (i) => `  let ra${i} = min(row0 + ${i}u, p.M - 1u);`)}
${unroll(rn, (j) => `  let cb${j} = min(col0 + ${j}u, p.N - 1u);`)}
${unroll(rm * rn, (e) => `  var acc${e} = 0.0;`)}
  for (var k = tid; k < p.K; k += T) {
${unroll(rm, (i) => `    let a${i} = a[${transA ? `k * p.M + ra${i}` : `ra${i} * p.K + k`}];`)}
${unroll(rn, (j) => `    let b${j} = b[${transB ? `cb${j} * p.K + k` : `k * p.N + cb${j}`}];`)}
${unroll(rm * rn, (e) => `    acc${e} += a${Math.floor(e / rn)} * b${e % rn};`)}
  }

${unroll(rm * rn, (e) => `  partial[${e}u * T + tid] = acc${e};`)}
  for (var s = T / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (tid < s) {
      for (var e = 0u; e < RM * RN; e++) { partial[e * T + tid] += partial[e * T + tid + s]; }
    }
  }
  workgroupBarrier();
  if (tid < RM * RN) {
    let gi = row0 + tid / RN;
    let gj = col0 + tid % RN;
    if (gi < p.M && gj < p.N) { c[gi * p.N + gj] = p.alpha * partial[tid * T]; }
  }
}
`;
    return {
      name: `gemm reduce ${opName(transA, transB)} ${rm}×${rn}/${threads}`,
      key,
      source,
      workgroupSize: [threads, 1, 1],
      bindings: ['read', 'read', 'write', 'uniform'],
      grid: (s) => [ceilDiv(s.N, rn), ceilDiv(s.M, rm), 1],
      uniforms: (s) => Uint32Array.of(s.M, s.N, s.K, f32Bits(s.alpha ?? 1)),
    };
  },
);
