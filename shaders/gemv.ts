// Matrix-vector products y = α·G·x for CPU drivers, where an output one column (or one row) wide wastes most of
// a 64×64 tile. Two forms, by which dimension of the row-major matrix is contiguous:
//   dot:  y[i] = α Σ_k G[i, k] x[k]       G is L×K: each invocation owns ROWS outputs and walks their rows in
//                                         float4s, sharing each float4 of x among them;
//   axpy: y[j] = α Σ_k x[k] G[k, j]       G is K×L: each invocation owns QUADS float4s of outputs and adds
//                                         x[k] times a float4 of row k to each.
// On lavapipe and SwiftShader every load costs about as much as a dozen FMAs whatever its width
// (bench/RESULTS.md, "Reading the CPU figures"), so both forms load float4s and reuse each one several times;
// small workgroups (8 or 16 invocations, one or two SIMD vectors) measured best. Both need the contiguous
// dimension (K for dot, L for axpy) to be a multiple of 4.
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { ceilDiv, f32Bits, memoByKey, type KernelDef } from '../src/gpu/kernel.ts';
import { unroll } from './gemm-tiled.ts';

export type GemvForm = 'dot' | 'axpy';

export interface GemvShape {
  /** Outputs (the length of y). */
  L: number;
  /** The reduction length (the length of x). */
  K: number;
  alpha?: number;
}

/** Outputs per invocation (dot: rows; axpy: float4s) and invocations per workgroup, as measured best. */
const DOT = { rows: 4, wg: 8 };
const AXPY = { quads: 4, wg: 16 };

/** Whether the form's contiguous dimension holds whole float4s. */
export const gemvFits = (form: GemvForm, s: Pick<GemvShape, 'L' | 'K'>) => (form === 'dot' ? s.K % 4 === 0 : s.L % 4 === 0);

export const gemv = memoByKey(
  (form: GemvForm) => `gemv:${form}`,
  (form, key): KernelDef<GemvShape> => {
    const dot = form === 'dot';
    const per = dot ? DOT.rows : AXPY.quads;
    const wg = dot ? DOT.wg : AXPY.wg;
    const source = wgsl`
struct Params { L: u32, K: u32, alpha: f32, pad: u32 }

#if ${dot}
@group(0) @binding(0) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
#else
@group(0) @binding(0) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;
#endif
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) gid: vec3u) {
#if ${dot}
  // Rows past the end are clamped onto the last one: loads need no branch, and the stores drop them.
  let i0 = gid.x * ${per}u;
  let k4 = p.K / 4u;
${unroll(per, (r) => `  let row${r} = min(i0 + ${r}u, p.L - 1u) * k4;\n  var acc${r} = vec4(0.0);`)}
  for (var k = 0u; k < k4; k++) {
    let xv = x[k];
${unroll(per, (r) => `    acc${r} += g[row${r} + k] * xv;`)}
  }
${unroll(per, (r) => `  if (i0 + ${r}u < p.L) { y[i0 + ${r}u] = p.alpha * ((acc${r}.x + acc${r}.y) + (acc${r}.z + acc${r}.w)); }`)}
#else
  let l4 = p.L / 4u;
  let j0 = gid.x * ${per}u;
${unroll(per, (q) => `  let col${q} = min(j0 + ${q}u, l4 - 1u);\n  var acc${q} = vec4(0.0);`)}
  for (var k = 0u; k < p.K; k++) {
    let xk = x[k];
    let base = k * l4;
${unroll(per, (q) => `    acc${q} += g[base + col${q}] * xk;`)}
  }
${unroll(per, (q) => `  if (j0 + ${q}u < l4) { y[j0 + ${q}u] = p.alpha * acc${q}; }`)}
#endif
}
`;
    return {
      name: `gemv ${form}`,
      key,
      source,
      workgroupSize: [wg, 1, 1],
      bindings: ['read', 'read', 'write', 'uniform'],
      grid: (s) => [ceilDiv(ceilDiv(s.L, dot ? per : 4 * per), wg), 1, 1],
      uniforms: (s) => {
        if (!gemvFits(form, s)) throw new RangeError(`gemv ${form}: ${dot ? `K = ${s.K}` : `L = ${s.L}`} must be a multiple of 4`);
        return Uint32Array.of(s.L, s.K, f32Bits(s.alpha ?? 1), 0);
      },
    };
  },
);
