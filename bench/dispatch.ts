// What a dispatch costs beside its arithmetic, and what that means for small NTKs: 400 dispatches of a
// 128-element Z = X + Y (recording, encoding and submitting, the device's time), and the top 5 eigenpairs of
// a formed 128×128, 512×512 and 1024×1024 K by Lanczos on the GPU (about ten dispatches and a readback per step)
// against one readback of K and a float64 Lanczos on the host (src/ntk/lanczos-host.ts). These figures decide
// the bind-group cache (src/gpu/bind-groups.ts) and HOST_SPECTRUM_MAX (src/track/probes/spectrum.ts).
// Usage: npm run bench:dispatch
import { Rng } from '../src/data/random.ts';
import type { Gpu } from '../src/gpu/gpu.ts';
import { linearCombination, matmul } from '../src/kernels/ops.ts';
import { median } from '../src/gpu/timing.ts';
import { hostLanczos } from '../src/ntk/lanczos-host.ts';
import { Lanczos } from '../src/ntk/spectrum.ts';
import { provenance, type BenchTable } from './results-file.ts';

const DISPATCHES = 400;

async function dispatchRow(gpu: Gpu, rounds: number): Promise<(string | number)[]> {
  const r = new Rng(1);
  const [x, y, z] = [gpu.matrix('x', 128, 1, r.uniformArray(128)), gpu.matrix('y', 128, 1, r.uniformArray(128)), gpu.matrix('z', 128, 1)];
  const record: number[] = [];
  const submit: number[] = [];
  const run: number[] = [];
  for (let i = 0; i <= rounds; i++) {
    const step = gpu.step('dispatch cost');
    const t0 = performance.now();
    for (let d = 0; d < DISPATCHES; d++) await linearCombination(step, 1, x, 1, y, z);
    const t1 = performance.now();
    gpu.submit(step);
    const t2 = performance.now();
    await gpu.done();
    const t3 = performance.now();
    if (i === 0) continue; // compiles the pipeline, fills the caches
    record.push(t1 - t0);
    submit.push(t2 - t1);
    run.push(t3 - t2);
  }
  for (const m of [x, y, z]) m.buffer.destroy();
  const us = (ms: number) => ((1000 * ms) / DISPATCHES).toFixed(1);
  return [`${DISPATCHES} × Z = X + Y (128 floats)`, us(median(record)), us(median(submit)), us(median(run)), '', '', ''];
}

async function spectrumRow(gpu: Gpu, n: number, rounds: number): Promise<(string | number)[]> {
  const r = new Rng(2);
  const A = gpu.matrix('A', n, 64, r.uniformArray(n * 64));
  const K = gpu.matrix('K', n, n);
  const step = gpu.step('K');
  await matmul(step, A, A, K, { transB: true });
  gpu.submit(step);
  const lanczos = new Lanczos(gpu, n);
  await lanczos.run(K, { count: 5, iterations: 40 }); // compiles
  const onGpu: number[] = [];
  const onHost: number[] = [];
  let agree = 0;
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    const g = await lanczos.run(K, { count: 5, iterations: 40 });
    const t1 = performance.now();
    const h = hostLanczos(await gpu.read(K), n, { count: 5, iterations: 40 });
    const t2 = performance.now();
    onGpu.push(t1 - t0);
    onHost.push(t2 - t1);
    agree = Math.abs(g.values[0] - h.values[0]) / h.values[0];
    g.vectors.buffer.destroy();
  }
  lanczos.destroy();
  A.buffer.destroy();
  K.buffer.destroy();
  return [`top 5 of a formed ${n}×${n} K, 40 Lanczos steps`, '', '', '', median(onGpu).toFixed(1), median(onHost).toFixed(1), agree.toExponential(1)];
}

export async function dispatchTable(gpu: Gpu, options: { rounds?: number; log?: (line: string) => void } = {}): Promise<BenchTable> {
  const log = options.log ?? console.log;
  const rounds = options.rounds ?? 5;
  const rows = [await dispatchRow(gpu, rounds), await spectrumRow(gpu, 128, rounds), await spectrumRow(gpu, 512, rounds), await spectrumRow(gpu, 1024, rounds)];
  for (const row of rows) log(row.join('  |  '));
  return {
    id: 'dispatch',
    title: 'Dispatch cost',
    description:
      `${provenance()} Wall times, medians of ${rounds} rounds after one that compiles. Dispatches: recording them into a step (shape ` +
      'checks, uniforms, the bind-group cache), encoding and submitting the step, and waiting for the device, each per dispatch. ' +
      'Spectrum: Lanczos with full reorthogonalization on the GPU (each step a product, projections, a norm and a readback) against ' +
      'one readback of K and the same recurrence in float64 on the host; "λ₁ rel. diff." compares their largest eigenvalue.',
    columns: ['what', 'record µs/dispatch', 'encode + submit µs/dispatch', 'device µs/dispatch', 'GPU Lanczos ms', 'host Lanczos ms', 'λ₁ rel. diff.'],
    rows,
  };
}
