// Matrix-product benchmarks. gemmTable: every variant at square sizes and at the skinny NTK-block shape
// (n = 128 rows of p features, C = A·Bᵀ), with median time, GFLOP/s and the speed-up over the float64
// reference. choiceTable: the shapes src/kernels/gemm-choice.ts decides on, every candidate interleaved over
// several rounds, and what `auto` runs there against the best: the evidence for that table on this adapter.
import { TILE_16x16_4x4, TILE_8x8_8x8_DIRECT, tileCols, tileRows, type TileConfig } from '../shaders/gemm-tiled.ts';
import { gemvFits } from '../shaders/gemv.ts';
import { VEC4_TILE_4x8, vec4Fits, type Vec4Tile } from '../shaders/gemm-vec4.ts';
import { Rng } from '../src/data/random.ts';
import { chooseGemm, gemvPlan, type GemmPlan, type GemmVariant } from '../src/kernels/gemm-choice.ts';
import type { Gpu } from '../src/gpu/gpu.ts';
import { matmul } from '../src/kernels/ops.ts';
import { median, timeStep } from '../src/gpu/timing.ts';
import { matmulRef } from '../src/ref/kernels.ts';
import { provenance, type BenchTable } from './results-file.ts';

interface Case {
  label: string;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
}

interface Variant {
  label: string;
  variant: GemmVariant;
  tile?: TileConfig;
  vec4Tile?: Vec4Tile;
  /** Whether the variant runs on this shape and adapter; others are skipped (and say so). */
  fits(c: Case, gpu: Gpu): boolean;
}

const tileLabel = (t: TileConfig) => `${tileRows(t)}×${tileCols(t)} (${t.wx}×${t.wy} threads × ${t.tm}×${t.tn})`;
const gemvFitsCase = (c: Case) => {
  const g = gemvPlan(c, c.transA, c.transB);
  return g !== null && gemvFits(g.form, { L: g.L, K: c.K });
};

export const VARIANTS: Variant[] = [
  { label: `tiled, staged ${tileLabel(TILE_16x16_4x4)}`, variant: 'tiled', tile: TILE_16x16_4x4, fits: () => true },
  { label: `tiled, direct ${tileLabel(TILE_8x8_8x8_DIRECT)}`, variant: 'tiled', tile: TILE_8x8_8x8_DIRECT, fits: () => true },
  { label: 'vec4 64×64 (8×8 threads × 8×8)', variant: 'vec4', fits: (c) => vec4Fits(c, c.transA, c.transB) },
  { label: 'vec4 32×64 (8×8 threads × 4×8)', variant: 'vec4', vec4Tile: VEC4_TILE_4x8, fits: (c) => vec4Fits(c, c.transA, c.transB) },
  { label: 'split-K (vec4 chunks + sum pass)', variant: 'splitk', fits: (c) => c.K >= 1024 },
  // One workgroup per 4×4 block of C reads its rows of A and B once per block: only for small outputs.
  { label: 'reduce (4×4 block per workgroup)', variant: 'reduce', fits: (c) => c.M * c.N <= 128 * 128 },
  { label: 'subgroup shuffles (8×256)', variant: 'subgroup', fits: (_, gpu) => gpu.subgroups },
  { label: 'gemv (matrix-vector)', variant: 'gemv', fits: (c) => gemvFitsCase(c) },
];

function squareCases(sizes: number[], ntkK: number): Case[] {
  const square = sizes.map((s) => ({ label: `${s}³ A·B`, M: s, N: s, K: s, transA: false, transB: false }));
  return [
    ...square,
    { label: '512³ A·Bᵀ', M: 512, N: 512, K: 512, transA: false, transB: true },
    { label: '512³ Aᵀ·B', M: 512, N: 512, K: 512, transA: true, transB: false },
    { label: `128×128 from 128×${ntkK.toLocaleString('en-US')} (A·Bᵀ)`, M: 128, N: 128, K: ntkK, transA: false, transB: true },
  ];
}

async function operands(gpu: Gpu, c: Case) {
  const rng = new Rng(1);
  return {
    A: gpu.matrix('A', c.transA ? c.K : c.M, c.transA ? c.M : c.K, rng.uniformArray(c.M * c.K)),
    B: gpu.matrix('B', c.transB ? c.N : c.K, c.transB ? c.K : c.N, rng.uniformArray(c.K * c.N)),
    C: gpu.matrix('C', c.M, c.N),
  };
}

async function timeVariant(gpu: Gpu, c: Case, ops: Awaited<ReturnType<typeof operands>>, v: Variant | null, budgetMs: number, warmup = 1) {
  const options = v ? { variant: v.variant, tile: v.tile, vec4Tile: v.vec4Tile } : {};
  return timeStep(gpu, (step) => matmul(step, ops.A, ops.B, ops.C, { transA: c.transA, transB: c.transB, ...options }).then(() => {}), {
    warmup,
    minReps: 3,
    minTotalMs: budgetMs,
    maxReps: 25,
  });
}

/** Float64 reference time, only where it takes seconds rather than minutes. */
function referenceMs(c: Case): number | null {
  if (2 * c.M * c.N * c.K > 4e9) return null;
  const rng = new Rng(1);
  const a = rng.uniformArray(c.M * c.K);
  const b = rng.uniformArray(c.K * c.N);
  const t0 = performance.now();
  matmulRef(a, b, c.M, c.N, c.K, c.transA, c.transB);
  return performance.now() - t0;
}

/** Every variant at square sizes (and A·Bᵀ, Aᵀ·B, the NTK block), against the float64 reference. */
export async function gemmTable(gpu: Gpu, options: { sizes: number[]; ntkK: number; log?: (line: string) => void }): Promise<BenchTable> {
  const log = options.log ?? console.log;
  const rows: (string | number)[][] = [];
  let best512 = { gflops: 0, label: '' };
  for (const c of squareCases(options.sizes, options.ntkK)) {
    const flops = 2 * c.M * c.N * c.K;
    const ref = referenceMs(c);
    const ops = await operands(gpu, c);
    for (const v of VARIANTS) {
      if (!v.fits(c, gpu)) continue;
      // The 512³ row is the headline figure: more repetitions there, CPU timings vary by ±15%.
      const t = await timeVariant(gpu, c, ops, v, c.M === 512 && !c.transA && !c.transB ? 2000 : gpu.adapter.isSoftware ? 0 : 200);
      const gflops = flops / (t.medianMs * 1e6);
      if (c.label === '512³ A·B' && gflops > best512.gflops) best512 = { gflops, label: v.label };
      const row = [c.label, v.label, t.medianMs.toFixed(3), gflops.toFixed(2), ref === null ? '—' : `${(ref / t.medianMs).toFixed(1)}×`];
      rows.push(row);
      log(row.join('  |  '));
    }
    for (const m of Object.values(ops)) m.buffer.destroy();
  }
  return {
    id: 'gemm',
    title: 'Matrix products',
    description:
      `${provenance()} ${gpu.timestamps ? 'Timestamp queries' : 'Wall clock'}; median ms per product after a warm-up; ` +
      '"vs float64 ref" is the time of src/ref\'s matmul divided by the kernel\'s (— where the reference would take minutes). ' +
      'Variants that cannot run a shape (alignment, subgroups) are left out.',
    columns: ['shape', 'variant', 'median ms', 'GFLOP/s', 'vs float64 ref'],
    rows,
    summary: `Best on 512³ A·B: ${best512.gflops.toFixed(2)} GFLOP/s (${best512.label}).`,
  };
}

function planLabel(p: GemmPlan): string {
  if (p.variant === 'tiled') return `tiled, ${p.tile.direct ? 'direct' : 'staged'} ${tileLabel(p.tile)}`;
  if (p.variant === 'vec4') return `vec4 ${p.vec4Tile.wy * p.vec4Tile.tm}×${p.vec4Tile.wx * p.vec4Tile.tn} (${p.vec4Tile.wx}×${p.vec4Tile.wy} threads × ${p.vec4Tile.tm}×${p.vec4Tile.tn})`;
  return p.variant;
}

/** The shape classes of src/kernels/gemm-choice.ts, as the engine meets them. */
const CHOICE_CASES: Case[] = [
  { label: '512³ A·B', M: 512, N: 512, K: 512, transA: false, transB: false },
  { label: '512³ A·Bᵀ', M: 512, N: 512, K: 512, transA: false, transB: true },
  { label: '512³ Aᵀ·B', M: 512, N: 512, K: 512, transA: true, transB: false },
  { label: 'forward 128×1024×100 (A·Bᵀ)', M: 128, N: 1024, K: 100, transA: false, transB: true },
  { label: 'forward, batch 32: 32×1024×3072 (A·Bᵀ)', M: 32, N: 1024, K: 3072, transA: false, transB: true },
  { label: 'weight gradient 1024×100×128 (Aᵀ·B)', M: 1024, N: 100, K: 128, transA: true, transB: false },
  { label: 'NTK Gram 128×128×1024 (A·Bᵀ)', M: 128, N: 128, K: 1024, transA: false, transB: true },
  { label: 'NTK block 128×128×20,000 (A·Bᵀ)', M: 128, N: 128, K: 20_000, transA: false, transB: true },
  { label: 'K·v 2000×2000 by a vector', M: 2000, N: 1, K: 2000, transA: false, transB: false },
  { label: 'δᵀA 1×1024 from 128 (Aᵀ·B)', M: 1, N: 1024, K: 128, transA: true, transB: false },
];

/** Every candidate on the choice table's shapes, interleaved over `rounds`, beside what `auto` runs. */
export async function choiceTable(gpu: Gpu, options: { rounds: number; log?: (line: string) => void }): Promise<BenchTable> {
  const log = options.log ?? console.log;
  const rows: (string | number)[][] = [];
  for (const c of CHOICE_CASES) {
    const ops = await operands(gpu, c);
    const live = VARIANTS.filter((v) => v.fits(c, gpu) && v.variant !== 'reduce');
    const samples: number[][] = live.map(() => []);
    const autoSamples: number[] = [];
    for (let r = 0; r < options.rounds; r++) {
      for (const [i, v] of live.entries()) samples[i].push((await timeVariant(gpu, c, ops, v, 100, r === 0 ? 1 : 0)).medianMs);
      autoSamples.push((await timeVariant(gpu, c, ops, null, 100, r === 0 ? 1 : 0)).medianMs);
    }
    const gflops = (ms: number) => (2 * c.M * c.N * c.K) / (ms * 1e6);
    const medians = samples.map(median);
    const best = medians.indexOf(Math.min(...medians));
    const picked = chooseGemm(c, c.transA, c.transB, gpu.adapter.kind, gpu.subgroups);
    const row = [
      c.label,
      `${live[best].label}: ${gflops(medians[best]).toFixed(2)}`,
      `${planLabel(picked)}: ${gflops(median(autoSamples)).toFixed(2)}`,
      (median(autoSamples) / medians[best]).toFixed(2),
      live.map((v, i) => `${v.label} ${gflops(medians[i]).toFixed(2)}`).join('; '),
    ];
    rows.push(row);
    log(row.join('  |  '));
    for (const m of Object.values(ops)) m.buffer.destroy();
  }
  return {
    id: 'gemm-choice',
    title: 'Which kernel auto picks',
    description:
      `${provenance()} The shapes src/kernels/gemm-choice.ts decides on. Every candidate and \`auto\` are timed in turn, ${options.rounds} rounds, ` +
      'median of each (GFLOP/s); "auto / best" is auto\'s time over the fastest candidate\'s (1.00: auto picked it; within about 1.15 is the noise of a CPU driver).',
    columns: ['shape', 'fastest (GFLOP/s)', 'auto runs (GFLOP/s)', 'auto / best', 'every candidate (GFLOP/s)'],
    rows,
  };
}
