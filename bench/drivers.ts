// The two CPU drivers side by side, measured in one run: lavapipe and SwiftShader alternate on the 512³
// product, the NTK block, the gd-catapult quick run and (with --with-tests) the whole `npm test`; the same
// gd-catapult run in PyTorch on this CPU where Python has torch (Debian's python3-torch), for scale.
import { spawnSync } from 'node:child_process';
import { readDataFile } from '../src/cli/data-files.ts';
import { pollDawn } from '../src/cli/dawn-wait.ts';
import { requestNodeGpu } from '../src/cli/node-gpu.ts';
import { Rng } from '../src/data/random.ts';
import { describeAdapter, type Gpu } from '../src/gpu/gpu.ts';
import { matmul } from '../src/kernels/ops.ts';
import { median, timeStep } from '../src/gpu/timing.ts';
import { resolvePreset } from '../src/run/presets.ts';
import { Trainer } from '../src/run/train.ts';
import { provenance, type BenchTable } from './results-file.ts';

type Driver = 'lavapipe' | 'swiftshader';
const DRIVERS: Driver[] = ['lavapipe', 'swiftshader'];

async function productGflops(gpu: Gpu, M: number, N: number, K: number, transB: boolean): Promise<number> {
  const rng = new Rng(1);
  const A = gpu.matrix('A', M, K, rng.uniformArray(M * K));
  const B = gpu.matrix('B', transB ? N : K, transB ? K : N, rng.uniformArray(N * K));
  const C = gpu.matrix('C', M, N);
  const t = await timeStep(gpu, (s) => matmul(s, A, B, C, { transB }).then(() => {}), { warmup: 1, minReps: 3, minTotalMs: 1000, maxReps: 15 });
  for (const m of [A, B, C]) m.buffer.destroy();
  return (2 * M * N * K) / (t.medianMs * 1e6);
}

/** Seconds of training of the gd-catapult quick run (what `catapult run` prints), after a short run compiles. */
async function gdCatapultSeconds(gpu: Gpu): Promise<number> {
  const config = resolvePreset('gd-catapult', { scale: 'quick' });
  const warm = await Trainer.create(gpu, { ...config, steps: 2 }, readDataFile);
  await warm.run();
  warm.destroy();
  const trainer = await Trainer.create(gpu, config, readDataFile);
  const t0 = performance.now();
  await trainer.run();
  const s = (performance.now() - t0) / 1000;
  trainer.destroy();
  return s;
}

/** Wall seconds of `npm test` with the Node tests on `driver` (the browser tests run on Chromium's own). */
function npmTestSeconds(driver: Driver): number {
  const t0 = performance.now();
  const r = spawnSync('npm', ['test'], { env: { ...process.env, CATAPULT_ADAPTER: driver }, stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`npm test failed on ${driver} (exit ${r.status})`);
  return (performance.now() - t0) / 1000;
}

/** The first Python with torch: the one on PATH, else Debian's (python3-torch), which a pyenv shim hides. */
function pytorchSeconds(): { seconds: number; torch: string } | null {
  for (const python of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(python, ['bench/pytorch-gd-catapult.py'], { encoding: 'utf8' });
    if (r.status !== 0) continue;
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
    return { seconds: j.seconds, torch: j.torch };
  }
  return null;
}

export async function driversTable(options: { rounds: number; withTests: boolean; log?: (line: string) => void }): Promise<{ table: BenchTable; adapters: string[] }> {
  const log = options.log ?? console.log;
  const gpus = Object.fromEntries(await Promise.all(DRIVERS.map(async (d) => [d, await requestNodeGpu({ adapter: d })] as const))) as Record<Driver, Gpu>;
  const samples: Record<string, Record<Driver, number[]>> = {};
  const add = (metric: string, d: Driver, v: number) => ((samples[metric] ??= { lavapipe: [], swiftshader: [] })[d].push(v));
  for (let r = 0; r < options.rounds; r++) {
    for (const d of DRIVERS) {
      add('512³ A·B (auto), GFLOP/s', d, await productGflops(gpus[d], 512, 512, 512, false));
      add('NTK block 128×128 from 128×20,000 (auto), GFLOP/s', d, await productGflops(gpus[d], 128, 128, 20_000, true));
      add('gd-catapult quick, seconds of training', d, await gdCatapultSeconds(gpus[d]));
      // The same with Dawn's own busy wait (src/cli/dawn-wait.ts), which the command line no longer uses.
      pollDawn(false);
      add('gd-catapult quick with Dawn spinning while it waits, seconds', d, await gdCatapultSeconds(gpus[d]).finally(() => pollDawn(true)));
      log(`round ${r + 1}/${options.rounds} on ${d} done`);
    }
  }
  const adapters = DRIVERS.map((d) => describeAdapter(gpus[d].adapter));
  for (const g of Object.values(gpus)) g.destroy();
  if (options.withTests) for (const d of DRIVERS) add('npm test, wall seconds', d, npmTestSeconds(d));
  const rows = Object.entries(samples).map(([metric, s]) => {
    const [l, w] = [median(s.lavapipe), median(s.swiftshader)];
    const higherIsBetter = metric.endsWith('GFLOP/s');
    return [metric, l.toFixed(2), w.toFixed(2), `${(higherIsBetter ? l / w : w / l).toFixed(2)}×`];
  });
  const torch = pytorchSeconds();
  if (torch) {
    const l = median(samples['gd-catapult quick, seconds of training'].lavapipe);
    const vs = l >= torch.seconds ? `lavapipe takes ${(l / torch.seconds).toFixed(2)}× as long` : `lavapipe is ${(torch.seconds / l).toFixed(2)}× faster`;
    rows.push([`gd-catapult quick in PyTorch ${torch.torch} on the CPU, seconds`, torch.seconds.toFixed(2), '', vs]);
  }
  for (const row of rows) log(row.join('  |  '));
  return {
    adapters,
    table: {
      id: 'drivers',
      title: 'The CPU drivers compared',
      description:
        `${provenance()} lavapipe (${adapters[0]}) and SwiftShader (${adapters[1]}) in one process, alternating, ${options.rounds} rounds, ` +
        'medians. The ratio is how many times faster lavapipe is. gd-catapult: the quick preset\'s 100 steps (time of the run, pipelines compiled before), as the command line runs it and, in the next row, with Dawn spinning the main thread while it waits instead of polling (src/cli/dawn-wait.ts). ' +
        (options.withTests ? '`npm test`: the whole suite, Node tests on the named driver (the browser tests use Chromium\'s own drivers either way). ' : '') +
        'PyTorch: bench/pytorch-gd-catapult.py, the same run (K formed, 20 power iterations, top-5 spectrum every step) with all cores.',
      columns: ['measure', 'lavapipe', 'SwiftShader', 'lavapipe vs SwiftShader'],
      rows,
    },
  };
}
