// Kernel checks shared by the Node tests (test/kernels.test.ts) and the browser page (e2e/kernels.html):
// each compares a kernel with the float64 reference in src/ref, with a tolerance from the float32 rounding
// error bound of its reduction, |computed − exact| ≤ γ_K·Σ|terms| with γ_K = (K + 2)·2⁻²⁴. The bound holds
// for any summation order, so it needs no tuning, and a missing or doubled term exceeds it.
import { TILE_16x16_4x4, TILE_8x8_8x8, TILE_8x8_8x8_DIRECT, TILE_COLUMN, TILE_ROW, type TileConfig } from '../shaders/gemm-tiled.ts';
import { vec4Fits } from '../shaders/gemm-vec4.ts';
import { Rng } from '../src/data/random.ts';
import { BufferLimitError, KernelCompileError } from '../src/gpu/errors.ts';
import type { Gpu } from '../src/gpu/gpu.ts';
import { flatGrid, type KernelDef } from '../src/gpu/kernel.ts';
import type { Matrix } from '../src/gpu/matrix.ts';
import { MIN_IDENTITY, activationBackward, biasActivation, gather, gatherSquare, linearCombination, matmul, reduce, type GemmVariant, type Reduction } from '../src/kernels/ops.ts';
import { CONV_TILES, conv2dBiasGrad, conv2dForward, conv2dInputGrad, conv2dPerExample, conv2dPerExampleBias, conv2dWeightGrad, conv2dWeightGradTiled, convTile, weightGradChunk, type ConvGeometry } from '../shaders/conv2d.ts';
import { avgPool, avgPoolBackward, globalAvgPool, globalAvgPoolBackward, type PoolShape } from '../shaders/pool.ts';
import { sumSlices } from '../shaders/reduce.ts';
import { batchedGemm } from '../shaders/batched-gemm.ts';
import { gelu, geluLinearized } from '../shaders/gelu.ts';
import { POINTWISE_FUNCTIONS, pointwise, pointwiseLinearized } from '../shaders/pointwise.ts';
import { maxPool, maxPoolBackward, maxPoolOutput, maxPoolTangent, type MaxPoolShape } from '../shaders/maxpool.ts';
import { pointwiseRef, pointwiseSlopeRef } from '../src/ref/pointwise.ts';
import { layerNorm, layerNormLinearized } from '../shaders/layernorm.ts';
import { softmaxRows, softmaxRowsLinearized } from '../shaders/softmax-rows.ts';
import { geluDerivativeRef, geluRef, layerNormJacobianRef, layerNormRef } from '../src/ref/transformer.ts';
import { avgPoolAdjointRef, avgPoolRef, conv2dAdjointRef, conv2dRef, convOutputRef, globalAvgPoolAdjointRef, globalAvgPoolRef, maxPoolJacobianRef, maxPoolRef } from '../src/ref/conv.ts';
import { absMatmulRef, actBackwardRef, biasActRef, dotRef, gatherBlockRef, gatherRef, matmulRef, normRef, sumAbsRef, sumRef, sumsqRef } from '../src/ref/kernels.ts';

export interface CheckResult {
  ok: boolean;
  detail: string;
}

export interface KernelCheck {
  name: string;
  run(gpu: Gpu): Promise<CheckResult>;
}

const U = 2 ** -24;
const gamma = (k: number) => (k + 2) * U;

/** Compares element by element; reports the worst ratio of error to tolerance. */
function compare(got: ArrayLike<number>, want: ArrayLike<number>, tol: (i: number) => number): CheckResult {
  if (got.length !== want.length) return { ok: false, detail: `length ${got.length}, expected ${want.length}` };
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i])) {
      if (!Number.isNaN(got[i])) return { ok: false, detail: `[${i}] = ${got[i]}, expected NaN` };
      continue;
    }
    const err = Math.abs(got[i] - want[i]);
    const ratio = err / (tol(i) + Number.MIN_VALUE);
    if (!(ratio <= worst)) {
      worst = ratio;
      worstAt = i;
    }
  }
  const detail = worstAt < 0 ? 'exact' : `worst error/tolerance ${worst.toExponential(2)} at [${worstAt}]: got ${got[worstAt]}, expected ${want[worstAt]}`;
  return { ok: worst <= 1, detail };
}

interface GemmCase {
  M: number;
  N: number;
  K: number;
  variant: GemmVariant | 'auto';
  splits?: number;
  tile?: TileConfig;
  /** Which of A·B, A·Bᵀ, Aᵀ·B to run (vec4 cases keep only those whose layout is float4-aligned). */
  transposes?: [boolean, boolean][];
  /** C = alpha·op(A)·op(B). */
  alpha?: number;
}

const TRANSPOSES: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
];

const TILES: [string, TileConfig][] = [
  ['staged 16x16', TILE_16x16_4x4],
  ['staged 8x8', TILE_8x8_8x8],
  ['direct 8x8', TILE_8x8_8x8_DIRECT],
  ['staged column', TILE_COLUMN],
  ['direct row', { ...TILE_ROW, direct: true }],
];

function gemmCases(): GemmCase[] {
  const rng = new Rng(20231);
  const cases: GemmCase[] = [];
  // Edges: size 1 in every dimension, just under and over the 64×64 tile and the 16-deep slice.
  const fixed: [number, number, number][] = [
    [1, 1, 1],
    [1, 9, 1],
    [9, 1, 17],
    [63, 65, 15],
    [64, 64, 64],
    [65, 127, 33],
  ];
  for (const [, tile] of TILES) {
    for (const [M, N, K] of fixed) cases.push({ M, N, K, variant: 'tiled', tile });
    cases.push({ M: 1 + rng.int(150), N: 1 + rng.int(150), K: 1 + rng.int(300), variant: 'tiled', tile, alpha: -0.75 });
  }
  // float4 loads: aligned shapes, and shapes where only the dimensions a layout reads as float4 are aligned.
  const vec4: [number, number, number][] = [
    [4, 4, 4],
    [1, 4, 4],
    [4, 1, 8],
    [68, 36, 20],
    [64, 64, 64],
    [131, 129, 100],
    [4 * (1 + rng.int(40)), 4 * (1 + rng.int(40)), 4 * (1 + rng.int(80))],
  ];
  for (const [M, N, K] of vec4) {
    const transposes = TRANSPOSES.filter(([ta, tb]) => vec4Fits({ M, N, K }, ta, tb));
    if (transposes.length > 0) cases.push({ M, N, K, variant: 'vec4', transposes, alpha: M === 68 ? 0.125 : undefined });
  }
  // Long inner dimension, small output: the reduction kernel and split-K (through the vec4 kernel where
  // the shape is aligned, the tiled one where not).
  cases.push({ M: 1, N: 1, K: 5003, variant: 'reduce' });
  cases.push({ M: 5, N: 9, K: 3001, variant: 'reduce', alpha: 3 });
  cases.push({ M: 1 + rng.int(40), N: 1 + rng.int(40), K: 1000 + rng.int(3000), variant: 'reduce' });
  cases.push({ M: 70, N: 33, K: 2501, variant: 'splitk', splits: 3 });
  cases.push({ M: 72, N: 36, K: 2500, variant: 'splitk', splits: 3, alpha: -2 });
  cases.push({ M: 3, N: 66, K: 40, variant: 'splitk', splits: 64 }); // more splits asked than K has slices
  cases.push({ M: 1 + rng.int(100), N: 1 + rng.int(100), K: 500 + rng.int(3000), variant: 'splitk', tile: TILE_8x8_8x8 });
  // The matrix-vector kernel: C one column wide (A the matrix: dot form, or axpy for Aᵀ) or one row wide (B
  // the matrix: axpy form, or dot for Bᵀ); lengths off its 4-row and 16-column blocks.
  cases.push({ M: 1, N: 1, K: 4, variant: 'gemv', transposes: [[false, false], [false, true]] });
  cases.push({ M: 37, N: 1, K: 100, variant: 'gemv', transposes: [[false, false], [false, true]], alpha: -0.5 });
  cases.push({ M: 36, N: 1, K: 17, variant: 'gemv', transposes: [[true, false], [true, true]] });
  cases.push({ M: 1, N: 41, K: 64, variant: 'gemv', transposes: [[false, true], [true, true]], alpha: 2 });
  cases.push({ M: 1, N: 68, K: 9, variant: 'gemv', transposes: [[false, false], [true, false]] });
  cases.push({ M: 4 * (1 + rng.int(300)), N: 1, K: 4 * (1 + rng.int(300)), variant: 'gemv' });
  // Subgroup shuffles: shapes off its 8-row, 256-column tile and off every subgroup size (K = 15, 33, 257).
  for (const [M, N, K] of [[1, 1, 1], [9, 1, 17], [63, 65, 15], [65, 257, 33], [1 + rng.int(150), 1 + rng.int(300), 1 + rng.int(300)]] as [number, number, number][]) {
    cases.push({ M, N, K, variant: 'subgroup', alpha: M === 65 ? -1.25 : undefined });
  }
  // What 'auto' picks for matrix-vector shapes: thin tiles, split along K when K is long.
  cases.push({ M: 300, N: 1, K: 40, variant: 'auto' });
  cases.push({ M: 1, N: 257, K: 2000, variant: 'auto', alpha: 0.5 });
  cases.push({ M: 3, N: 70, K: 1500, variant: 'auto' });
  return cases;
}

const tileName = (t?: TileConfig) => TILES.find(([, c]) => c === t)?.[0];

const gemvRefusals: KernelCheck = {
  name: 'matmul gemv refuses outputs wider than one column or row, and unaligned reductions',
  async run(gpu: Gpu) {
    const detail: string[] = [];
    const expectRefusal = async (M: number, N: number, K: number, pattern: RegExp) => {
      try {
        await runMatmul(gpu, { M, N, K, variant: 'gemv' }, false, false, 1);
        detail.push(`M=${M} N=${N} K=${K} ran`);
      } catch (e) {
        if (!pattern.test((e as Error).message)) detail.push(`M=${M} N=${N} K=${K}: ${(e as Error).message}`);
      }
    };
    await expectRefusal(5, 2, 8, /one column or one row wide; got M=5 N=2/);
    await expectRefusal(5, 1, 7, /dot form\) needs K = 7 to be a multiple of 4/);
    await expectRefusal(1, 6, 7, /axpy form\) needs the output length 6 to be a multiple of 4/);
    return { ok: detail.length === 0, detail: detail.join('; ') || 'refused with the reason' };
  },
};

async function runMatmul(gpu: Gpu, c: GemmCase, transA: boolean, transB: boolean, seed: number) {
  const rng = new Rng(seed);
  const a = rng.uniformArray(c.M * c.K);
  const b = rng.uniformArray(c.K * c.N);
  const A = gpu.matrix('A', transA ? c.K : c.M, transA ? c.M : c.K, a);
  const B = gpu.matrix('B', transB ? c.N : c.K, transB ? c.K : c.N, b);
  const C = gpu.matrix('C', c.M, c.N);
  const step = gpu.step('matmul check');
  await matmul(step, A, B, C, { transA, transB, variant: c.variant, splits: c.splits, tile: c.tile, alpha: c.alpha });
  gpu.submit(step);
  const got = await gpu.read(C);
  for (const m of [A, B, C]) m.buffer.destroy();
  return { a, b, got };
}

const matmulChecks: KernelCheck[] = gemmCases().flatMap((c, ci) =>
  (c.transposes ?? TRANSPOSES).map(([transA, transB]) => ({
    name: `matmul ${c.variant}${c.tile ? ` ${tileName(c.tile)}` : ''} ${c.alpha !== undefined ? `${c.alpha}·` : ''}${transA ? 'Aᵀ' : 'A'}·${transB ? 'Bᵀ' : 'B'} M=${c.M} N=${c.N} K=${c.K}${c.splits ? ` splits=${c.splits}` : ''}`,
    async run(gpu: Gpu) {
      if (c.variant === 'subgroup' && !gpu.subgroups) {
        // Without the feature the variant must refuse, naming it, rather than fail to compile.
        try {
          await runMatmul(gpu, c, transA, transB, 1000 + ci);
          return { ok: false, detail: 'the subgroup variant ran on an adapter without subgroups' };
        } catch (e) {
          const ok = /needs an adapter with the "subgroups" feature/.test((e as Error).message);
          return { ok, detail: `no subgroups here: ${(e as Error).message}` };
        }
      }
      const { a, b, got } = await runMatmul(gpu, c, transA, transB, 1000 + ci);
      const alpha = c.alpha ?? 1;
      const want = matmulRef(a, b, c.M, c.N, c.K, transA, transB).map((v) => alpha * v);
      const scale = absMatmulRef(a, b, c.M, c.N, c.K, transA, transB);
      // One more rounding for the product with alpha.
      return compare(got, want, (i) => Math.abs(alpha) * gamma(c.K + 1) * scale[i]);
    },
  })),
);

const elementwiseShapes: [number, number][] = [
  [1, 1],
  [3, 1],
  [1, 257],
  [37, 129],
];

const elementwiseChecks: KernelCheck[] = (['relu', 'identity'] as const).flatMap((act) =>
  elementwiseShapes.flatMap(([rows, cols], si) => [
    ...[true, false].map((withBias) => ({
      name: `bias+${act}${withBias ? '' : ' (no bias)'} ${rows}×${cols}${si === 3 ? ' scaled' : ''}`,
      async run(gpu: Gpu) {
        const rng = new Rng(77 + si);
        const x = rng.uniformArray(rows * cols);
        const bias = rng.uniformArray(cols);
        const X = gpu.matrix('X', rows, cols, x);
        const b = withBias ? gpu.matrix('bias', 1, cols, bias) : null;
        const Y = gpu.matrix('Y', rows, cols);
        const step = gpu.step('bias+act check');
        // The last shape also checks the NTK scales: Y = act(c·X + β·b).
        const [scale, biasScale] = si === 3 ? [0.3, 2] : [1, 1];
        await biasActivation(step, X, b, Y, act, { scale, biasScale });
        gpu.submit(step);
        const xs = x.map((v) => scale * v);
        const bs = bias.map((v) => biasScale * v);
        const want = biasActRef(xs, withBias ? bs : null, rows, cols, act);
        // Rounding of the two products and the sum: at most 3 units of the larger term.
        return compare(await gpu.read(Y), want, (i) => 3 * U * (Math.abs(xs[i]) + (withBias ? Math.abs(bs[i % cols]) : 0)));
      },
    })),
    {
      name: `${act} backward ${rows}×${cols}`,
      async run(gpu: Gpu) {
        const rng = new Rng(91 + si);
        const dy = rng.uniformArray(rows * cols);
        const y = rng.uniformArray(rows * cols).map((v) => (act === 'relu' ? Math.max(v, 0) : v));
        const dY = gpu.matrix('dY', rows, cols, dy);
        const Y = gpu.matrix('Y', rows, cols, y);
        const dX = gpu.matrix('dX', rows, cols);
        const step = gpu.step('act backward check');
        await activationBackward(step, dY, Y, dX, act);
        gpu.submit(step);
        return compare(await gpu.read(dX), actBackwardRef(dy, y, act), () => 0);
      },
    },
  ]),
);

const largeElementwise: KernelCheck = {
  // More elements than one grid dimension can cover (65535 workgroups of 256): the grid folds into y.
  name: 'bias+identity over more than 65535 workgroups',
  async run(gpu: Gpu) {
    const rows = 257;
    const cols = 65537;
    if (flatGrid(Math.ceil((rows * cols) / 256))[1] < 2) return { ok: false, detail: 'shape no longer spans two grid rows' };
    const x = new Float32Array(rows * cols).map((_, i) => (i % 1000) - 500);
    const X = gpu.matrix('X', rows, cols, x);
    const Y = gpu.matrix('Y', rows, cols);
    const step = gpu.step('large elementwise check');
    await biasActivation(step, X, null, Y, 'relu');
    gpu.submit(step);
    const got = await gpu.read(Y);
    X.buffer.destroy();
    Y.buffer.destroy();
    return compare(got, biasActRef(x, null, rows, cols, 'relu'), () => 0);
  },
};

const lincombCheck: KernelCheck = {
  name: 'linear combination a·X + b·Y',
  async run(gpu: Gpu) {
    const rng = new Rng(61);
    const n = 1037;
    const x = rng.uniformArray(n);
    const y = rng.uniformArray(n);
    const X = gpu.matrix('X', n, 1, x);
    const Y = gpu.matrix('Y', n, 1, y);
    const Z = gpu.matrix('Z', n, 1);
    const step = gpu.step('lincomb check');
    await linearCombination(step, 0.7, X, -1.3, Y, Z);
    gpu.submit(step);
    return compare(await gpu.read(Z), Array.from(x, (v, i) => 0.7 * v - 1.3 * y[i]), (i) => 3 * U * (0.7 * Math.abs(x[i]) + 1.3 * Math.abs(y[i])));
  },
};

const viewCheck: KernelCheck = {
  name: 'products on views at offsets inside one buffer leave the rest of it alone',
  async run(gpu: Gpu) {
    const align = gpu.limits.minStorageBufferOffsetAlignment / 4; // in floats
    const rng = new Rng(62);
    const [M, N, K] = [7, 5, 9];
    const a = rng.uniformArray(M * K);
    const b = rng.uniformArray(K * N);
    // A and B at aligned offsets of one buffer, C at an offset of another (WebGPU forbids binding one buffer
    // both read-only and writable in a dispatch, even at disjoint ranges); a sentinel fills the rest.
    const total = 3 * align;
    const init = new Float32Array(total).fill(-7);
    init.set(a, align);
    init.set(b, 2 * align);
    const inputs = gpu.matrix('inputs', total, 1, init);
    const outputs = gpu.matrix('outputs', total, 1, new Float32Array(total).fill(-7));
    const A = gpu.view(inputs.buffer, align * 4, M, K);
    const B = gpu.view(inputs.buffer, 2 * align * 4, K, N);
    const C = gpu.view(outputs.buffer, align * 4, M, N);
    const step = gpu.step('view check');
    await matmul(step, A, B, C, { variant: 'tiled' });
    gpu.submit(step);
    const gotIn = await gpu.read(inputs);
    if (gotIn.some((v, i) => v !== init[i])) return { ok: false, detail: 'the input buffer changed' };
    const got = await gpu.read(outputs);
    const want = new Float64Array(total).fill(-7);
    want.set(matmulRef(a, b, M, N, K), align);
    const scale = new Float64Array(total);
    scale.set(absMatmulRef(a, b, M, N, K), align);
    const viewRead = await gpu.read(C);
    if (viewRead.length !== M * N || viewRead[0] !== got[align]) return { ok: false, detail: 'reading a view does not read its own bytes' };
    return compare(got, want, (i) => gamma(K) * scale[i]);
  },
};

const gatherChecks: KernelCheck[] = [
  { srcRows: 1, cols: 1, index: [0, 0, 0] },
  { srcRows: 50, cols: 33, index: [49, 0, 7, 7, 13, 2] },
  { srcRows: 10, cols: 5, index: [3, 10, 4000000000] }, // past the end: NaN rows
].map((c, ci) => ({
  name: `gather ${c.index.length} of ${c.srcRows}×${c.cols}${c.index.some((i) => i >= c.srcRows) ? ' (bad index)' : ''}`,
  async run(gpu: Gpu) {
    const src = new Rng(5 + ci).uniformArray(c.srcRows * c.cols);
    const S = gpu.matrix('src', c.srcRows, c.cols, src);
    const idx = gpu.indices('index', c.index);
    const out = gpu.matrix('out', c.index.length, c.cols);
    const step = gpu.step('gather check');
    await gather(step, S, idx, out);
    gpu.submit(step);
    return compare(await gpu.read(out), gatherRef(src, c.srcRows, c.cols, c.index), () => 0);
  },
}));

const gatherBlockChecks: KernelCheck[] = [
  { srcRows: 1, index: [0, 0] },
  { srcRows: 37, index: [36, 0, 5, 5, 20, 1, 17] },
  { srcRows: 300, index: Array.from({ length: 70 }, (_, i) => (i * 131) % 300) },
  { srcRows: 6, index: [2, 6, 4000000000] }, // past the end: NaN rows and columns
].map((c, ci) => ({
  name: `gather block ${c.index.length}×${c.index.length} of ${c.srcRows}×${c.srcRows}${c.index.some((i) => i >= c.srcRows) ? ' (bad index)' : ''}`,
  async run(gpu: Gpu) {
    const src = new Rng(15 + ci).uniformArray(c.srcRows * c.srcRows);
    const S = gpu.matrix('src', c.srcRows, c.srcRows, src);
    const out = gpu.matrix('out', c.index.length, c.index.length);
    const step = gpu.step('gather block check');
    await gatherSquare(step, S, gpu.indices('index', c.index), out);
    gpu.submit(step);
    return compare(await gpu.read(out), gatherBlockRef(src, c.srcRows, c.index), () => 0);
  },
}));

/** Convolution geometries: edges (1×1×1, one channel, odd sizes, stride 2, padding 0 and 1, Cout off the
 * 32-wide tile) and random ones. */
function convCases(): ConvGeometry[] {
  const rng = new Rng(4242);
  const fixed: ConvGeometry[] = [
    { b: 1, cin: 1, h: 1, w: 1, cout: 1, k: 1, stride: 1, pad: 0 },
    { b: 2, cin: 3, h: 7, w: 5, cout: 5, k: 3, stride: 1, pad: 1 },
    { b: 3, cin: 2, h: 9, w: 9, cout: 37, k: 3, stride: 2, pad: 0 },
    { b: 2, cin: 1, h: 6, w: 6, cout: 4, k: 3, stride: 2, pad: 1 },
  ];
  for (let i = 0; i < 2; i++) {
    const pad = rng.int(2);
    const h = 3 + rng.int(10);
    const w = 3 + rng.int(10);
    const k = [1, 3, 5].filter((v) => v <= Math.min(h, w) + 2 * pad)[rng.int(2)];
    fixed.push({ b: 1 + rng.int(4), cin: 1 + rng.int(5), h, w, cout: 1 + rng.int(40), k, stride: 1 + rng.int(2), pad });
  }
  return fixed;
}

const convName = (g: ConvGeometry) => `b=${g.b} ${g.cin}×${g.h}×${g.w} → ${g.cout}, k=${g.k} s=${g.stride} p=${g.pad}`;

const convChecks: KernelCheck[] = convCases().flatMap((g, gi) => {
  const rng = new Rng(500 + gi);
  const [ho, wo] = convOutputRef(g);
  const x = rng.uniformArray(g.b * g.cin * g.h * g.w);
  const W = rng.uniformArray(g.cout * g.cin * g.k * g.k);
  const dy = rng.uniformArray(g.b * g.cout * ho * wo);
  const abs = (a: ArrayLike<number>) => Float64Array.from(a, Math.abs);
  const alpha = 0.75;
  // Dispatches in order into one output (the per-example weights, then their bias columns).
  const read = async (gpu: Gpu, defs: [KernelDef<any>, object][], inputs: [ArrayLike<number>, number, number][], outRows: number, outCols: number, bindLast = 1) => {
    const ins = inputs.map(([data, rows, cols], i) => gpu.matrix(`in ${i}`, rows, cols, data));
    const out = gpu.matrix('out', outRows, outCols);
    const step = gpu.step('conv check');
    await gpu.prepare(defs.map(([def]) => def));
    defs.forEach(([def, shape], d) => step.dispatch(def, d < bindLast ? [...ins, out] : [ins[0], out], shape));
    gpu.submit(step);
    return gpu.read(out);
  };
  // The tile the shape gets, and one more (the cases rotate through all of them).
  const [M, N] = [g.b * ho * wo, g.cout];
  const tiles = [...new Set([convTile(M, N), CONV_TILES[gi % CONV_TILES.length]])];
  const all = (results: { ok: boolean; detail: string }[]) => ({ ok: results.every((r) => r.ok), detail: results.map((r, i) => `tile ${i}: ${r.detail}`).join('; ') });
  const K = g.cin * g.k * g.k;
  const P = ho * wo;
  return [
    {
      name: `conv2d forward ${convName(g)}`,
      async run(gpu: Gpu) {
        const scale = conv2dRef(g, abs(x), abs(W), alpha);
        const want = conv2dRef(g, x, W, alpha);
        const results = [];
        for (const tile of tiles) {
          const got = await read(gpu, [[conv2dForward({ tile, unitStride: g.stride === 1 }), { ...g, alpha }]], [[x, g.b, g.cin * g.h * g.w], [W, g.cout, K]], g.b, g.cout * P);
          results.push(compare(got, want, (i) => gamma(K + 1) * scale[i]));
        }
        return all(results);
      },
    },
    {
      name: `conv2d input gradient ${convName(g)}`,
      async run(gpu: Gpu) {
        const scale = conv2dAdjointRef(g, abs(x), abs(W), abs(dy), alpha).dx;
        const want = conv2dAdjointRef(g, x, W, dy, alpha).dx;
        const results = [];
        // Stride 1 has its own variant; the general one must agree on it too.
        for (const [tile, unitStride] of [[convTile(g.b * g.h * g.w, g.cin), g.stride === 1], [CONV_TILES[gi % CONV_TILES.length], false]] as const) {
          const got = await read(gpu, [[conv2dInputGrad({ tile, unitStride }), { ...g, alpha }]], [[dy, g.b, g.cout * P], [W, g.cout, K]], g.b, g.cin * g.h * g.w);
          results.push(compare(got, want, (i) => gamma(g.cout * g.k * g.k + 1) * scale[i]));
        }
        return all(results);
      },
    },
    {
      name: `conv2d weight and bias gradients ${convName(g)} (whole and in 3 slices)`,
      async run(gpu: Gpu) {
        const want = conv2dAdjointRef(g, x, W, dy, alpha, 2);
        const scale = conv2dAdjointRef(g, abs(x), abs(W), abs(dy), alpha, 2);
        const tol = (s: Float64Array) => (i: number) => gamma(g.b * P + 1) * s[i];
        const ins: [ArrayLike<number>, number, number][] = [[dy, g.b, g.cout * P], [x, g.b, g.cin * g.h * g.w]];
        const whole = await read(gpu, [[conv2dWeightGrad(g), { ...g, alpha }]], ins, g.cout, K);
        const r1 = compare(whole, want.dW, tol(scale.dW));
        // Three slices of the b·P reduction, then the in-order slice sum: the same sums, split; in the rotated tile.
        const slices = Math.ceil((g.b * P) / weightGradChunk(g, 3));
        const sliced = conv2dWeightGradTiled({ tile: CONV_TILES[gi % CONV_TILES.length], perExample: false });
        const parts = await read(gpu, [[sliced, { ...g, alpha, splits: slices }]], ins, slices * g.cout, K);
        const summed = new Float64Array(g.cout * K);
        for (let z = 0; z < slices; z++) for (let e = 0; e < summed.length; e++) summed[e] += parts[z * summed.length + e];
        const r2 = compare(summed, want.dW, tol(scale.dW));
        const db = await read(gpu, [[conv2dBiasGrad, { ...g, alpha: 2 }]], [[dy, g.b, g.cout * P]], 1, g.cout);
        const r3 = compare(db, want.db, tol(scale.db));
        return { ok: r1.ok && r2.ok && r3.ok, detail: `whole: ${r1.detail}; ${slices} slices: ${r2.detail}; bias: ${r3.detail}` };
      },
    },
    {
      name: `conv2d per-example gradients ${convName(g)}`,
      async run(gpu: Gpu) {
        // Rows of δ for 2 outputs (r = a·b + i), channels from c0 = ⌊Cout/3⌋, with their bias columns.
        const rows = 2 * g.b;
        const delta = rng.uniformArray(rows * g.cout * P);
        const c0 = Math.floor(g.cout / 3);
        const units = Math.max(1, g.cout - c0 - 1);
        const beta = 0.5;
        const cols = units * K + units;
        const shape = { ...g, rows, c0, units, alpha, beta };
        const got = await read(gpu, [[conv2dPerExample(shape), shape], [conv2dPerExampleBias, shape]], [[delta, rows, g.cout * P], [x, g.b, g.cin * g.h * g.w]], rows, cols);
        const want = new Float64Array(rows * cols);
        const scale = new Float64Array(rows * cols);
        const one = { ...g, b: 1 };
        for (let r = 0; r < rows; r++) {
          const xi = x.subarray((r % g.b) * g.cin * g.h * g.w, ((r % g.b) + 1) * g.cin * g.h * g.w);
          const dr = delta.subarray(r * g.cout * P, (r + 1) * g.cout * P);
          const adj = conv2dAdjointRef(one, xi, W, dr, alpha, beta);
          const adjAbs = conv2dAdjointRef(one, abs(xi), W, abs(dr), alpha, beta);
          for (let u = 0; u < units; u++) {
            for (let kk = 0; kk < K; kk++) {
              want[r * cols + u * K + kk] = adj.dW[(c0 + u) * K + kk];
              scale[r * cols + u * K + kk] = adjAbs.dW[(c0 + u) * K + kk];
            }
            want[r * cols + units * K + u] = adj.db[c0 + u];
            scale[r * cols + units * K + u] = adjAbs.db[c0 + u];
          }
        }
        return compare(got, want, (i) => gamma(P + 1) * scale[i]);
      },
    },
  ];
});

const poolChecks: KernelCheck[] = [
  { b: 2, c: 3, h: 7, w: 6, k: 2 },
  { b: 1, c: 1, h: 5, w: 5, k: 5 },
  { b: 3, c: 4, h: 9, w: 4, k: 3 },
].flatMap((s, si) => {
  const rng = new Rng(700 + si);
  const x = rng.uniformArray(s.b * s.c * s.h * s.w);
  const planes = s.b * s.c;
  const [ho, wo] = [Math.floor(s.h / s.k), Math.floor(s.w / s.k)];
  const dy = rng.uniformArray(planes * ho * wo);
  const dg = rng.uniformArray(planes);
  const run = async (gpu: Gpu, def: KernelDef<PoolShape>, input: ArrayLike<number>, rows: number, inCols: number, outCols: number) => {
    const X = gpu.matrix('in', rows, inCols, input);
    const Y = gpu.matrix('out', rows, outCols);
    const step = gpu.step('pool check');
    await gpu.prepare([def]);
    step.dispatch(def, [X, Y], s);
    gpu.submit(step);
    return gpu.read(Y);
  };
  const name = `${s.b}×${s.c}×${s.h}×${s.w}`;
  const tol = (n: number, scale: ArrayLike<number>) => (i: number) => gamma(n + 1) * Math.abs(scale[i]) + 2 * U * Math.abs(scale[i]);
  return [
    {
      name: `average pool ${s.k}×${s.k} and its backward, ${name}`,
      async run(gpu: Gpu) {
        const f = compare(await run(gpu, avgPool, x, s.b, s.c * s.h * s.w, s.c * ho * wo), avgPoolRef(x, planes, s.h, s.w, s.k), tol(s.k * s.k, avgPoolRef(Float64Array.from(x, Math.abs), planes, s.h, s.w, s.k)));
        const want = avgPoolAdjointRef(dy, planes, s.h, s.w, s.k);
        const bwd = compare(await run(gpu, avgPoolBackward, dy, s.b, s.c * ho * wo, s.c * s.h * s.w), want, tol(1, want));
        return { ok: f.ok && bwd.ok, detail: `forward: ${f.detail}; backward: ${bwd.detail}` };
      },
    },
    {
      name: `global average pool and its backward, ${name}`,
      async run(gpu: Gpu) {
        const f = compare(await run(gpu, globalAvgPool, x, s.b, s.c * s.h * s.w, s.c), globalAvgPoolRef(x, planes, s.h * s.w), tol(s.h * s.w, globalAvgPoolRef(Float64Array.from(x, Math.abs), planes, s.h * s.w)));
        const want = globalAvgPoolAdjointRef(dg, planes, s.h * s.w);
        const bwd = compare(await run(gpu, globalAvgPoolBackward, dg, s.b, s.c, s.c * s.h * s.w), want, tol(1, want));
        return { ok: f.ok && bwd.ok, detail: `forward: ${f.detail}; backward: ${bwd.detail}` };
      },
    },
  ];
});

const reduceLengths = [1, 255, 4096, 4097, 1_000_003];

const reduceChecks: KernelCheck[] = (['sum', 'dot', 'sumsq', 'norm', 'min'] as Reduction[]).flatMap((op) =>
  reduceLengths.map((n, li) => ({
    name: `reduce ${op} n=${n}`,
    async run(gpu: Gpu) {
      const rng = new Rng(300 + li);
      const x = rng.uniformArray(n);
      const y = rng.uniformArray(n);
      const X = gpu.matrix('x', n, 1, x);
      const Y = op === 'dot' ? gpu.matrix('y', n, 1, y) : null;
      const out = gpu.matrix('out', 4, 1);
      const step = gpu.step('reduce check');
      await reduce(step, op, X, Y, out.buffer, 2); // into slot 2: the offset is honoured, the rest untouched
      gpu.submit(step);
      const got = await gpu.read(out);
      if (got[0] !== 0 || got[1] !== 0 || got[3] !== 0) return { ok: false, detail: `wrote outside out[2]: ${Array.from(got)}` };
      if (op === 'min') return compare([got[2]], [x.reduce((m, v) => Math.min(m, v), Infinity)], () => 0); // exact: a min does not round
      const exact = op === 'sum' ? sumRef(x) : op === 'dot' ? dotRef(x, y) : op === 'sumsq' ? sumsqRef(x) : normRef(x);
      const terms = op === 'sum' ? sumAbsRef(x) : op === 'dot' ? sumAbsRef(x.map((v, i) => v * y[i])) : sumsqRef(x);
      // ‖x‖ = sqrt(‖x‖²): relative error halves through the square root, plus its own rounding.
      const tol = op === 'norm' ? (gamma(n) * terms) / (2 * exact) + U * exact : gamma(n) * terms;
      return compare([got[2]], [exact], () => tol);
    },
  })),
);

// min over the elements above a threshold (AdaGrad's s_t leaves out parameters that never had a gradient):
// a third of the elements sit exactly at the threshold and must be left out; n = 1 leaves nothing, which
// gives MIN_IDENTITY.
const reduceMinAboveChecks: KernelCheck[] = reduceLengths.map((n, li) => ({
  name: `reduce min above a threshold n=${n}`,
  async run(gpu: Gpu) {
    const rng = new Rng(400 + li);
    const threshold = Math.fround(0.25);
    const x = rng.uniformArray(n).map((v, i) => (i % 3 === 0 ? threshold : v));
    const X = gpu.matrix('x', n, 1, x);
    const out = gpu.matrix('out', 4, 1);
    const step = gpu.step('reduce check');
    await reduce(step, 'min', X, null, out.buffer, 1, { above: threshold });
    gpu.submit(step);
    const got = await gpu.read(out);
    if (got[0] !== 0 || got[2] !== 0 || got[3] !== 0) return { ok: false, detail: `wrote outside out[1]: ${Array.from(got)}` };
    const want = x.reduce((m, v) => (v > threshold ? Math.min(m, v) : m), MIN_IDENTITY);
    return compare([got[1]], [want], () => 0);
  },
}));

async function bits(gpu: Gpu, M: Matrix): Promise<Uint32Array> {
  return new Uint32Array((await gpu.read(M)).buffer);
}

const determinismCheck: KernelCheck = {
  name: 'same inputs give the same bits twice (tiled, vec4, split-K, reduce, norm)',
  async run(gpu: Gpu) {
    const rng = new Rng(4242);
    const M = 45;
    const N = 77;
    const K = 3000; // A·Bᵀ with K % 4 = 0: split-K runs through the vec4 kernel
    const A = gpu.matrix('A', M, K, rng.uniformArray(M * K));
    const B = gpu.matrix('B', N, K, rng.uniformArray(N * K));
    const outs: Uint32Array[][] = [];
    for (let rep = 0; rep < 2; rep++) {
      const results: Uint32Array[] = [];
      for (const variant of ['tiled', 'vec4', 'splitk', 'reduce'] as const) {
        const C = gpu.matrix('C', M, N);
        const step = gpu.step('determinism');
        await matmul(step, A, B, C, { transB: true, variant, splits: 7 });
        const norm = gpu.matrix('norm', 1, 1);
        await reduce(step, 'norm', C, null, norm.buffer);
        gpu.submit(step);
        results.push(await bits(gpu, C), await bits(gpu, norm));
      }
      outs.push(results);
    }
    for (let i = 0; i < outs[0].length; i++) {
      const [x, y] = [outs[0][i], outs[1][i]];
      for (let j = 0; j < x.length; j++) {
        if (x[j] !== y[j]) return { ok: false, detail: `result ${i} differs at [${j}]: ${x[j]} vs ${y[j]}` };
      }
    }
    return { ok: true, detail: `${outs[0].length} results identical bit for bit` };
  },
};

const limitCheck: KernelCheck = {
  name: 'buffers over the device limits fail before allocation, naming the limit',
  async run(gpu: Gpu) {
    const over = gpu.limits.maxStorageBufferBindingSize + 4;
    const problems: string[] = [];
    const expectLimit = (limit: string, f: () => unknown) => {
      try {
        f();
        problems.push(`no error for a buffer over ${limit}`);
      } catch (e) {
        if (!(e instanceof BufferLimitError) || e.limit !== limit || !e.message.includes(limit) || !e.message.includes('to fit')) {
          problems.push(`wrong error for ${limit}: ${(e as Error).message}`);
        }
      }
    };
    expectLimit('maxStorageBufferBindingSize', () =>
      gpu.createBuffer({ label: 'too big', size: over, usage: GPUBufferUsage.STORAGE, shrink: 'reduce the batch size' }),
    );
    expectLimit('maxStorageBufferBindingSize', () => gpu.matrix('huge', over / 4, 1));
    expectLimit('maxBufferSize', () =>
      gpu.createBuffer({ label: 'too big', size: gpu.limits.maxBufferSize + 4, usage: GPUBufferUsage.COPY_DST }),
    );
    // A size within both limits is created.
    gpu.createBuffer({ label: 'fits', size: 1024, usage: GPUBufferUsage.STORAGE }).destroy();
    return { ok: problems.length === 0, detail: problems.join('; ') || 'limits enforced' };
  },
};

const compileErrorCheck: KernelCheck = {
  name: 'a kernel that does not compile reports its name and numbered WGSL',
  async run(gpu: Gpu) {
    const broken: KernelDef<null> = {
      name: 'deliberately broken',
      key: 'test:deliberately-broken',
      source: '@group(0) @binding(0) var<storage, read_write> x: array<f32>;\n@compute @workgroup_size(1)\nfn main() {\n  x[0] = undefined_name;\n}\n',
      workgroupSize: [1, 1, 1],
      bindings: ['write'],
      grid: () => [1, 1, 1],
      uniforms: () => new Uint32Array(0),
    };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await gpu.prepare([broken]);
        return { ok: false, detail: 'compiled without error' };
      } catch (e) {
        const m = (e as Error).message;
        const good = e instanceof KernelCompileError && m.includes('deliberately broken') && m.includes('4 |   x[0] = undefined_name;') && /line 4/.test(m);
        // The second attempt must fail the same way: failures are not cached as successes.
        if (!good) return { ok: false, detail: `attempt ${attempt + 1}: unexpected error: ${m}` };
      }
    }
    return { ok: true, detail: 'reported twice with name and source' };
  },
};

/** ‖got − want‖ / ‖want‖, with the bound it must stay under, as a check result. */
function relative(got: ArrayLike<number>, want: ArrayLike<number>, bound: number): CheckResult {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  const err = Math.sqrt(num / (den || 1));
  return { ok: got.length === want.length && err <= bound, detail: `relative error ${err.toExponential(2)} (bound ${bound.toExponential(2)})` };
}

/** Runs one kernel on float arrays and reads its last binding back. */
async function runKernel<S>(gpu: Gpu, def: KernelDef<S>, inputs: ArrayLike<number>[], outLength: number, shape: S): Promise<Float32Array> {
  const bound = inputs.map((x, i) => gpu.matrix(`in ${i}`, 1, x.length, x));
  const out = gpu.matrix('out', 1, outLength);
  await gpu.prepare([def]);
  const step = gpu.step(def.name);
  step.dispatch(def, [...bound, out], shape);
  gpu.submit(step);
  return gpu.read(out);
}

// The transformer's kernels: layer norm over 7 channels at 5 positions, GELU, row softmax over 9 keys (7 rows
// of 3 examples: not multiples of any workgroup), and batched strided products (2 examples × 3 heads, one
// operand transposed by its strides).
const transformerChecks: KernelCheck[] = (() => {
  const rng = new Rng(900);
  const [b, C, P] = [3, 7, 5];
  const x = rng.uniformArray(b * C * P, -2, 2);
  const g = rng.uniformArray(b * C * P, -1, 1);
  const S = rng.uniformArray(3 * 7 * 9, -4, 4);
  const gs = rng.uniformArray(S.length, -1, 1);
  const softmaxRef = (rows: number, cols: number) => {
    const out = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const row = Array.from(S.subarray(r * cols, (r + 1) * cols));
      const m = Math.max(...row);
      const e = row.map((v) => Math.exp(v - m));
      const t = e.reduce((a, v) => a + v, 0);
      e.forEach((v, j) => (out[r * cols + j] = v / t));
    }
    return out;
  };
  return [
    {
      name: `layer norm and its derivative, ${b}×${C}×${P}`,
      async run(gpu: Gpu) {
        const shape = { b, c: C, positions: P, eps: 1e-5 };
        const f = relative(await runKernel(gpu, layerNorm, [x], x.length, shape), layerNormRef(x, b, C, P, 1e-5), 16 * U * C);
        const d = relative(await runKernel(gpu, layerNormLinearized, [x, g], x.length, shape), layerNormJacobianRef(x, g, b, C, P, 1e-5), 64 * U * C);
        return { ok: f.ok && d.ok, detail: `forward: ${f.detail}; derivative: ${d.detail}` };
      },
    },
    {
      name: 'GELU (tanh form) and its derivative, large arguments included',
      async run(gpu: Gpu) {
        const v = Float32Array.from([...x, 30, -30, 1e4, -1e4, 0]);
        const w = Float32Array.from([...g, 1, 1, 1, 1, 1]);
        const f = relative(await runKernel(gpu, gelu, [v], v.length, { count: v.length }), Array.from(v, geluRef), 16 * U);
        const d = relative(await runKernel(gpu, geluLinearized, [v, w], v.length, { count: v.length }), Array.from(v, (e, i) => w[i] * geluDerivativeRef(e)), 16 * U);
        return { ok: f.ok && d.ok, detail: `forward: ${f.detail}; derivative: ${d.detail}` };
      },
    },
    {
      name: 'row softmax over 9 columns and its derivative, 21 rows',
      async run(gpu: Gpu) {
        const shape = { rows: 21, cols: 9 };
        const want = softmaxRef(21, 9);
        const f = relative(await runKernel(gpu, softmaxRows, [S], S.length, shape), want, 16 * U * 9);
        const dwant = Array.from(want, (p, e) => {
          const r = Math.floor(e / 9);
          let dot = 0;
          for (let j = 0; j < 9; j++) dot += want[r * 9 + j] * gs[r * 9 + j];
          return p * (gs[e] - dot);
        });
        const d = relative(await runKernel(gpu, softmaxRowsLinearized, [Float32Array.from(want), gs], S.length, shape), dwant, 32 * U * 9);
        return { ok: f.ok && d.ok, detail: `forward: ${f.detail}; derivative: ${d.detail}` };
      },
    },
    {
      name: 'batched strided matmul, 2 examples × 3 heads, A read transposed, C accumulated',
      async run(gpu: Gpu) {
        // Per (e, h): A = Xᵀ (5×4) from a 4×5 block of X, B (4×6), C (5×6) = 2·A·B + C₀.
        const [E, H, M, N, K] = [2, 3, 5, 6, 4];
        const X = rng.uniformArray(E * H * K * M, -1, 1);
        const Bm = rng.uniformArray(E * H * K * N, -1, 1);
        const C0 = rng.uniformArray(E * H * M * N, -1, 1);
        const want = new Float64Array(C0.length);
        for (let z = 0; z < E * H; z++) {
          const A = matmulRef(X.subarray(z * K * M, (z + 1) * K * M), Bm.subarray(z * K * N, (z + 1) * K * N), M, N, K, true, false);
          for (let i = 0; i < M * N; i++) want[z * M * N + i] = 2 * A[i] + C0[z * M * N + i];
        }
        const shape = {
          examples: E, heads: H, m: M, n: N, k: K, alpha: 2, gamma: 1,
          a: { offset: 0, example: H * K * M, head: K * M, row: 1, col: M },
          b: { offset: 0, example: H * K * N, head: K * N, row: N, col: 1 },
          c: { offset: 0, example: H * M * N, head: M * N, row: N, col: 1 },
        };
        const Ab = gpu.matrix('A', 1, X.length, X);
        const Bb = gpu.matrix('B', 1, Bm.length, Bm);
        const Cb = gpu.matrix('C', 1, C0.length, C0);
        await gpu.prepare([batchedGemm]);
        const step = gpu.step('batched gemm check');
        step.dispatch(batchedGemm, [Ab, Bb, Cb], shape);
        gpu.submit(step);
        return relative(await gpu.read(Cb), want, 8 * U * (K + 2));
      },
    },
  ];
})();

// Sigmoid, tanh and exact GELU on 1000 values (not a multiple of the 256-wide workgroup) and the arguments
// where the erf approximation switches (|z| = 0.5, x = ±0.707) or saturates. Element by element: relative
// error 16u, plus an absolute 4u·|x| (values) or 4u·|g| (derivatives): in the tails f or f′ is the difference
// of numbers near 1 (1 − erfc, s·(1 − s)), whose float32 rounding is absolute, not relative.
const pointwiseChecks: KernelCheck[] = POINTWISE_FUNCTIONS.map((f) => ({
  name: `${f} and its derivative, 1000 values and the switch and tail arguments`,
  async run(gpu: Gpu) {
    const rng = new Rng(950);
    const special = [0, 1e-4, -1e-4, 0.49, -0.49, 0.7071, -0.7071, 0.72, -0.72, 1, -1, 3, -3, 10, -10, 30, -30, 1e4, -1e4];
    const x = Float32Array.from([...rng.uniformArray(1000, -6, 6), ...special]);
    const g = Float32Array.from([...rng.uniformArray(1000, -1, 1), ...special.map(() => 1)]);
    const values = await runKernel(gpu, pointwise(f), [x], x.length, { count: x.length });
    const slopes = await runKernel(gpu, pointwiseLinearized(f), [x, g], x.length, { count: x.length });
    const want = Array.from(x, (v) => pointwiseRef(f, v));
    const wantSlope = Array.from(x, (v, i) => g[i] * pointwiseSlopeRef(f, v));
    const a = compare(values, want, (i) => 16 * U * Math.abs(want[i]) + 4 * U * Math.abs(x[i]));
    const b = compare(slopes, wantSlope, (i) => 16 * U * Math.abs(wantSlope[i]) + 4 * U * Math.abs(g[i]));
    return { ok: a.ok && b.ok, detail: `values: ${a.detail}; derivative: ${b.detail}` };
  },
}));

// Max pooling: non-overlapping windows, overlapping ones with padding (an input chosen by several windows), a
// window over the whole map, sizes that are no multiple of the workgroup, and a constant input (every window
// ties: the first maximum in row-major order is chosen, as PyTorch chooses). Values and the argmax must be
// exact; the backward pass sums at most ⌈k/s⌉² values, the tangent copies one.
const maxPoolChecks: KernelCheck[] = [
  { b: 2, c: 3, h: 6, w: 5, k: 2, stride: 2, pad: 0 },
  { b: 3, c: 2, h: 7, w: 9, k: 3, stride: 2, pad: 1 },
  { b: 2, c: 5, h: 5, w: 5, k: 3, stride: 1, pad: 1 },
  { b: 1, c: 3, h: 4, w: 4, k: 4, stride: 4, pad: 0 },
  { b: 2, c: 2, h: 5, w: 4, k: 2, stride: 1, pad: 1, constant: true },
].map((g: MaxPoolShape & { constant?: boolean }) => ({
  name: `max pool ${g.k}×${g.k} stride ${g.stride} padding ${g.pad} on ${g.b}×${g.c}×${g.h}×${g.w}${g.constant ? ', a constant input' : ''}, its backward and tangent`,
  async run(gpu: Gpu) {
    const rng = new Rng(960 + g.h * g.w);
    const planes = g.b * g.c;
    const x = g.constant ? new Float32Array(planes * g.h * g.w).fill(0.5) : rng.uniformArray(planes * g.h * g.w, -1, 1);
    const [ho, wo] = maxPoolOutput(g);
    const dy = rng.uniformArray(planes * ho * wo, -1, 1);
    const xdot = rng.uniformArray(x.length, -1, 1);
    const X = gpu.matrix('x', 1, x.length, x);
    const Y = gpu.matrix('y', 1, dy.length);
    const A = gpu.matrix('argmax', 1, dy.length);
    const DY = gpu.matrix('dy', 1, dy.length, dy);
    const DX = gpu.matrix('dx', 1, x.length);
    const XD = gpu.matrix('xdot', 1, x.length, xdot);
    const YD = gpu.matrix('ydot', 1, dy.length);
    await gpu.prepare([maxPool, maxPoolBackward, maxPoolTangent]);
    const step = gpu.step('max pool check');
    step.dispatch(maxPool, [X, Y, A], g);
    step.dispatch(maxPoolBackward, [DY, A, DX], g);
    step.dispatch(maxPoolTangent, [XD, A, YD], g);
    gpu.submit(step);
    const want = maxPoolRef(x, planes, g.h, g.w, g.k, g.stride, g.pad);
    const values = compare(await gpu.read(Y), want.y, () => 0);
    const args = compare(await gpu.read(A), want.arg, () => 0);
    const back = compare(await gpu.read(DX), maxPoolJacobianRef(x, dy, planes, g.h, g.w, g.k, g.stride, g.pad, true), (i) => gamma(Math.ceil(g.k / g.stride) ** 2) * 2);
    const tangent = compare(await gpu.read(YD), maxPoolJacobianRef(x, xdot, planes, g.h, g.w, g.k, g.stride, g.pad, false), () => 0);
    return { ok: values.ok && args.ok && back.ok && tangent.ok, detail: `values: ${values.detail}; argmax: ${args.detail}; backward: ${back.detail}; tangent: ${tangent.detail}` };
  },
}));

export const kernelChecks: KernelCheck[] = [
  ...pointwiseChecks,
  ...maxPoolChecks,
  ...matmulChecks,
  ...elementwiseChecks,
  largeElementwise,
  lincombCheck,
  viewCheck,
  gemvRefusals,
  ...convChecks,
  ...poolChecks,
  ...transformerChecks,
  ...gatherChecks,
  ...gatherBlockChecks,
  ...reduceChecks,
  ...reduceMinAboveChecks,
  determinismCheck,
  limitCheck,
  compileErrorCheck,
];
