// Matrix product C = α·op(A)·op(B) that shares A between invocations through subgroup shuffles instead of
// workgroup memory: a GPU-class variant, for adapters with the `subgroups` feature. Its speed can only be
// measured on a GPU (bench/RESULTS.md); on the CPU drivers it is checked for correctness like every kernel.
//
// A workgroup owns TM rows of C (the same rows for every invocation, so every subgroup holds them too) and
// WG·TN columns; invocation x owns columns x, x + WG, ... K is walked in chunks of the subgroup's size s:
// lane l loads A(row_i, k0 + l) for its TM rows (neighbouring lanes read neighbouring words), then for each kk
// of the chunk takes row_i's value from lane kk with subgroupShuffle and multiplies it into its columns.
// No subgroup size is assumed: s comes from the subgroup_size builtin at run time (lavapipe 8, SwiftShader 4,
// GPUs 32 or 64). WG = 128, the largest subgroup size WebGPU allows, is a multiple of every subgroup size, so
// every subgroup of a workgroup is full and every lane a shuffle reads is active.
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { ceilDiv, f32Bits, memoByKey, type KernelDef } from '../src/gpu/kernel.ts';
import { opName, unroll, type GemmShape } from './gemm-tiled.ts';

const WG = 128;
const TM = 8;
const TN = 2;

export interface GemmSubgroupOptions {
  transA: boolean;
  transB: boolean;
}

export const gemmSubgroup = memoByKey(
  (o: GemmSubgroupOptions) => `gemm-subgroup:${o.transA ? 't' : 'n'}${o.transB ? 't' : 'n'}`,
  (o, key): KernelDef<GemmShape> => {
    const { transA, transB } = o;
    const bn = WG * TN;
    const source = wgsl`
enable subgroups;

struct Params { M: u32, N: u32, K: u32, pad: u32, alpha: f32, pad0: u32, pad1: u32, pad2: u32 }

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${WG}, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3u,
        @builtin(local_invocation_id) lid: vec3u,
        @builtin(subgroup_invocation_id) lane: u32,
        @builtin(subgroup_size) size: u32) {
  let row0 = wid.y * ${TM}u;
  // Rows and columns past the edge are clamped onto the last one, so control flow stays uniform (as the
  // shuffles require); the stores drop what they produce.
${unroll(TM, (i) => `  let r${i} = min(row0 + ${i}u, p.M - 1u);`)}
${unroll(TN, (j) => `  let c${j} = min(wid.x * ${bn}u + lid.x + ${j * WG}u, p.N - 1u);`)}
${unroll(TM * TN, (e) => `  var acc${e} = 0.0;`)}
  for (var k0 = 0u; k0 < p.K; k0 += size) {
    // This lane's slice of A for the chunk; zero past the end of K, so the last chunk needs no special case.
    let kl = k0 + lane;
    let inK = kl < p.K;
    let kc = min(kl, p.K - 1u);
${unroll(TM, (i) => `    let own${i} = select(0.0, a[${transA ? `kc * p.M + r${i}` : `r${i} * p.K + kc`}], inK);`)}
    let chunk = min(size, p.K - k0);
    for (var kk = 0u; kk < chunk; kk++) {
      let k = k0 + kk;
${unroll(TM, (i) => `      let a${i} = subgroupShuffle(own${i}, kk);`)}
${unroll(TN, (j) => `      let b${j} = b[${transB ? `c${j} * p.K + k` : `k * p.N + c${j}`}];`)}
${unroll(TM * TN, (e) => `      acc${e} += a${Math.floor(e / TN)} * b${e % TN};`)}
    }
  }
${unroll(TM * TN, (e) => {
  const i = Math.floor(e / TN);
  const j = e % TN;
  return `  if (row0 + ${i}u < p.M && wid.x * ${bn}u + lid.x + ${j * WG}u < p.N) { c[(row0 + ${i}u) * p.N + wid.x * ${bn}u + lid.x + ${j * WG}u] = p.alpha * acc${e}; }`;
})}
}
`;
    return {
      name: `gemm subgroup ${opName(transA, transB)} ${TM}×${bn}`,
      key,
      source,
      workgroupSize: [WG, 1, 1],
      bindings: ['read', 'read', 'write', 'uniform'],
      grid: (s) => [ceilDiv(s.N, bn), ceilDiv(s.M, TM), 1],
      uniforms: (s) => Uint32Array.of(s.M, s.N, s.K, 0, f32Bits(s.alpha ?? 1), 0, 0, 0),
    };
  },
);
