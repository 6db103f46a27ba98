// The kernel demo (`catapult demo`): a short run of the kernels on the adapter at hand, printing what ran where, how fast, and
// how far each result is from the float64 reference. The shapes are the paper's: a batch of 128 inputs of
// dimension 784 through a ReLU layer of width 1024, and the n×n Gram block of the hidden features, which is
// the last layer's contribution to the NTK (DESIGN.md: K = Σ_l (Δ_l Δ_lᵀ) ⊙ (c² A_{l-1} A_{l-1}ᵀ + β²)).
import { Rng } from '../data/random.ts';
import { formatBytes } from '../gpu/errors.ts';
import { adapterLine, type Gpu } from '../gpu/gpu.ts';
import type { Matrix } from '../gpu/matrix.ts';
import { biasActivation, matmul, reduce } from '../kernels/ops.ts';
import type { Step } from '../gpu/step.ts';
import { timeStep } from '../gpu/timing.ts';
import { biasActRef, matmulRef, normRef } from '../ref/kernels.ts';

export interface DemoOptions {
  seed: number;
  n: number;
  d: number;
  width: number;
}

function maxRelError(got: Float32Array, want: Float64Array): number {
  let scale = 0;
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    err = Math.max(err, Math.abs(got[i] - want[i]));
  }
  return err / (scale || 1);
}

export async function runDemo(gpu: Gpu, o: DemoOptions, print: (line: string) => void): Promise<void> {
  const l = gpu.limits;
  print(adapterLine(gpu.adapter));
  print(
    `limits in use: storage binding ${formatBytes(l.maxStorageBufferBindingSize)}, buffer ${formatBytes(l.maxBufferSize)}, ` +
      `workgroup memory ${formatBytes(l.maxComputeWorkgroupStorageSize)}, ${l.maxComputeInvocationsPerWorkgroup} invocations per workgroup`,
  );
  print(`timing: ${gpu.timestamps ? 'GPU timestamp queries' : 'wall clock around onSubmittedWorkDone'}; seed ${o.seed}\n`);

  const rng = new Rng(o.seed);
  const x = rng.uniformArray(o.n * o.d);
  // NTK parameterization: W ~ N(0, 1), the 1/sqrt(fan_in) goes into the weights here for the demo.
  const w = Float32Array.from({ length: o.width * o.d }, () => rng.normal() / Math.sqrt(o.d));
  const b = Float32Array.from({ length: o.width }, () => rng.normal() * 0.1);
  const X = gpu.matrix('X', o.n, o.d, x);
  const W = gpu.matrix('W1', o.width, o.d, w);
  const bias = gpu.matrix('b1', 1, o.width, b);
  const Z = gpu.matrix('Z', o.n, o.width);
  const H = gpu.matrix('H', o.n, o.width);
  const G = gpu.matrix('Gram', o.n, o.n);
  const norm = gpu.matrix('norm', 1, 1);

  const rows: string[][] = [['operation', 'shape', 'kernel', 'ms', 'GFLOP/s', 'max rel. error vs float64']];
  const run = async (label: string, shape: string, flops: number, record: (s: Step) => Promise<string>, out: Matrix, want: Float64Array) => {
    let kernel = '';
    const t = await timeStep(gpu, async (s) => void (kernel = await record(s)), { warmup: 1, minReps: 3 });
    const err = maxRelError(await gpu.read(out), want);
    rows.push([label, shape, kernel, t.medianMs.toFixed(2), flops ? (flops / (t.medianMs * 1e6)).toFixed(2) : '—', err.toExponential(1)]);
  };

  const zRef = matmulRef(x, w, o.n, o.width, o.d, false, true);
  await run('pre-activation Z = X·W1ᵀ', `${o.n}×${o.d} · ${o.d}×${o.width}`, 2 * o.n * o.width * o.d, (s) => matmul(s, X, W, Z, { transB: true }), Z, zRef);
  const hRef = biasActRef(zRef, b, o.n, o.width, 'relu');
  await run('H = ReLU(Z + b1)', `${o.n}×${o.width}`, 0, async (s) => (await biasActivation(s, Z, bias, H, 'relu'), 'bias+relu'), H, hRef);
  const gRef = matmulRef(hRef, hRef, o.n, o.n, o.width, false, true);
  await run('Gram block H·Hᵀ', `${o.n}×${o.n} from ${o.n}×${o.width}`, 2 * o.n * o.n * o.width, (s) => matmul(s, H, H, G, { transB: true }), G, gRef);
  await run('‖H·Hᵀ‖_F', `${o.n * o.n} values`, 0, async (s) => (await reduce(s, 'norm', G, null, norm.buffer), 'reduce norm'), norm, Float64Array.of(normRef(gRef)));

  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) print(r.map((cell, c) => cell.padEnd(widths[c])).join('  '));
  print('\nerrors are float32 rounding against the float64 reference (src/ref); times are medians of 3 runs.');
}
