// Matrix-product benchmark: every variant at square sizes 64..2048 and at the skinny NTK-block shape
// (n = 128 rows of p = 100,000 features, C = A·Bᵀ), with median time, GFLOP/s and the speed-up over the
// float64 reference. Usage: npm run bench [-- --quick] [-- --out FILE]
import { TILE_16x16_4x4, TILE_8x8_8x8_DIRECT, tileCols, tileRows, type TileConfig } from '../shaders/gemm-tiled.ts';
import { vec4Fits } from '../shaders/gemm-vec4.ts';
import { benchSetup } from './args.ts';
import { Rng } from '../src/data/random.ts';
import { describeAdapter, type Gpu } from '../src/gpu/gpu.ts';
import { matmul, type GemmVariant } from '../src/gpu/ops.ts';
import { timeStep } from '../src/gpu/timing.ts';
import { matmulRef } from '../src/ref/kernels.ts';
import { codeVersion, markdownTable, writeSection } from './results-file.ts';

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
  /** Whether the variant is meant for this shape; others are skipped (and say so) to keep the run short. */
  fits(c: Case): boolean;
}

const tileLabel = (t: TileConfig) => `${tileRows(t)}×${tileCols(t)} (${t.wx}×${t.wy} threads × ${t.tm}×${t.tn})`;

const VARIANTS: Variant[] = [
  { label: `tiled, staged ${tileLabel(TILE_16x16_4x4)}`, variant: 'tiled', tile: TILE_16x16_4x4, fits: () => true },
  { label: `tiled, direct ${tileLabel(TILE_8x8_8x8_DIRECT)}`, variant: 'tiled', tile: TILE_8x8_8x8_DIRECT, fits: () => true },
  { label: 'vec4 64×64 (8×8 threads × 8×8)', variant: 'vec4', fits: (c) => vec4Fits(c, c.transA, c.transB) },
  { label: 'split-K (vec4 chunks + sum pass)', variant: 'splitk', fits: (c) => c.K >= 1024 },
  // One workgroup per 4×4 block of C reads its rows of A and B once per block: only for small outputs.
  { label: 'reduce (4×4 block per workgroup)', variant: 'reduce', fits: (c) => c.M * c.N <= 128 * 128 },
];

function cases(quick: boolean): Case[] {
  const sizes = quick ? [64, 256, 512] : [64, 128, 256, 512, 1024, 2048];
  const square = sizes.map((s) => ({ label: `${s}³ A·B`, M: s, N: s, K: s, transA: false, transB: false }));
  return [
    ...square,
    { label: '512³ A·Bᵀ', M: 512, N: 512, K: 512, transA: false, transB: true },
    { label: '512³ Aᵀ·B', M: 512, N: 512, K: 512, transA: true, transB: false },
    { label: `128×128 from 128×${quick ? '20,000' : '100,000'} (A·Bᵀ)`, M: 128, N: 128, K: quick ? 20_000 : 100_000, transA: false, transB: true },
  ];
}

async function timeCase(gpu: Gpu, c: Case, v: Variant, budgetMs: number) {
  const rng = new Rng(1);
  const A = gpu.matrix('A', c.transA ? c.K : c.M, c.transA ? c.M : c.K, rng.uniformArray(c.M * c.K));
  const B = gpu.matrix('B', c.transB ? c.N : c.K, c.transB ? c.K : c.N, rng.uniformArray(c.K * c.N));
  const C = gpu.matrix('C', c.M, c.N);
  try {
    const t = await timeStep(gpu, (step) => matmul(step, A, B, C, { transA: c.transA, transB: c.transB, variant: v.variant, tile: v.tile }).then(() => {}), {
      warmup: 1,
      minReps: 3,
      minTotalMs: budgetMs,
      maxReps: 25,
    });
    return t;
  } finally {
    for (const m of [A, B, C]) m.buffer.destroy();
  }
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

async function main() {
  const { gpu, out, quick } = await benchSetup();
  const adapter = describeAdapter(gpu.adapter);
  console.log(`timing: ${gpu.timestamps ? 'timestamp queries' : 'wall clock around onSubmittedWorkDone'}, median of ≥3 runs after a warm-up\n`);

  const rows: (string | number)[][] = [];
  let best512 = { gflops: 0, label: '' };
  for (const c of cases(quick)) {
    const flops = 2 * c.M * c.N * c.K;
    const ref = referenceMs(c);
    for (const v of VARIANTS) {
      if (!v.fits(c)) {
        rows.push([c.label, v.label, '—', '—', '—']);
        continue;
      }
      // The 512³ row is the headline figure: more repetitions there, the VM's timings vary by ±15%.
      const t = await timeCase(gpu, c, v, c.M === 512 && !c.transA && !c.transB ? 2000 : gpu.adapter.isSoftware ? 0 : 200);
      const gflops = flops / (t.medianMs * 1e6);
      if (c.label === '512³ A·B' && gflops > best512.gflops) best512 = { gflops, label: v.label };
      const row = [c.label, v.label, t.medianMs.toFixed(3), gflops.toFixed(2), ref === null ? '—' : `${(ref / t.medianMs).toFixed(1)}×`];
      rows.push(row);
      console.log(row.join('  |  '));
    }
    if (ref !== null) console.log(`  float64 reference: ${ref.toFixed(1)} ms (${(flops / (ref * 1e6)).toFixed(2)} GFLOP/s)`);
  }

  const table = markdownTable(['shape', 'variant', 'median ms', 'GFLOP/s', 'vs float64 ref'], rows);
  const summary = `Best on 512³ A·B: ${best512.gflops.toFixed(2)} GFLOP/s (${best512.label}).`;
  console.log(`\n${summary}`);
  const body = [
    `## Matrix products on ${adapter}`,
    '',
    `Measured ${new Date().toISOString().slice(0, 10)}, code ${codeVersion()}, Node ${process.version}, ${gpu.timestamps ? 'timestamp queries' : 'wall clock'}; ` +
      `median ms per product; "vs float64 ref" is the time of src/ref's matmul divided by the kernel's (— where the reference would take minutes).` +
      (gpu.adapter.note ? ` ${gpu.adapter.note}.` : ''),
    '',
    table,
    '',
    summary,
  ].join('\n');
  writeSection(out, quick ? 'gemm-quick' : 'gemm', gpu.adapter, body);
  console.log(`written to ${out}`);
  gpu.destroy();
}

await main();
