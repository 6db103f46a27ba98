// The device benchmark bundle's entry (npm run bench:device builds it into .device/bench.js): on a machine with
// neither Node nor network, `bash .device/run.sh OUT_DIR` runs the product table up to 4096³ (and the kernel
// choice table), the training-step table, the NTK table (2- and 5-layer, n = 128, d = 3072, width 1024), the
// dispatch-cost table, the CNN table (quick, 64 channels and the paper's Fig. 3 size: 512 channels on 32×32×3), the
// Wide ResNet and ViT table (the quick presets' nets and WRN-10-10, ViT-4 dim 256 on 32×32×3)
// and gd-catapult at both scales, and writes into OUT_DIR:
//   adapter.json  the adapter (GPUAdapterInfo, how it was chosen), its limits and features;
//   results.json  every table's rows and every run's headline, with the code version;
//   results.md    the same as markdown, in bench/RESULTS.md's section format, ready to paste there.
// --quick keeps the products at 512³, the CNN at the quick size and gd-catapult at the quick scale (to check the
// bundle on a CPU driver).
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestNodeGpu } from '../src/cli/node-gpu.ts';
import { runExperiment } from '../src/cli/experiment.ts';
import { adapterLine, type Gpu } from '../src/gpu/gpu.ts';
import { CNN_CASES, WRN_VIT_CASES, cnnTable, wrnVitTable } from './cnn.ts';
import { dispatchTable } from './dispatch.ts';
import { choiceTable, gemmTable } from './gemm.ts';
import { ntkTable } from './ntk.ts';
import { provenance, tableMarkdown, type BenchTable } from './results-file.ts';
import { trainTable } from './train.ts';

const LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'minStorageBufferOffsetAlignment',
  'minUniformBufferOffsetAlignment',
] as const;

async function gdCatapult(gpu: Gpu, scale: 'quick' | 'paper'): Promise<Record<string, unknown>> {
  const out = join(tmpdir(), `catapult-device-gd-catapult-${scale}-${process.pid}`);
  const t0 = performance.now();
  const summary = await runExperiment(gpu, { preset: 'gd-catapult', scale, set: [], out, saveAt: [], report: false, progress: false, log: () => {} });
  return { preset: 'gd-catapult', scale, wallSeconds: (performance.now() - t0) / 1000, ...summary };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const outArg = args.find((a) => !a.startsWith('--'));
  if (!outArg) {
    console.error('usage: node .device/bench.js OUT_DIR [--quick]');
    process.exit(2);
  }
  const out = resolve(outArg);
  mkdirSync(out, { recursive: true });
  // The bundled data (data/*.gz) lies beside this file; presets name it relative to the working directory.
  process.chdir(dirname(fileURLToPath(import.meta.url)));
  const gpu = await requestNodeGpu();
  const log = (line: string) => console.log(line);
  log(adapterLine(gpu.adapter));
  const limits = Object.fromEntries(LIMITS.map((n) => [n, gpu.limits[n]]));
  writeFileSync(join(out, 'adapter.json'), `${JSON.stringify({ adapter: gpu.adapter, limits, features: [...gpu.device.features].sort(), provenance: provenance() }, null, 2)}\n`);

  const tables: BenchTable[] = [];
  const runs: Record<string, unknown>[] = [];
  const save = () => {
    writeFileSync(join(out, 'results.json'), `${JSON.stringify({ provenance: provenance(), adapter: gpu.adapter, tables, runs }, null, 2)}\n`);
    const runRows = runs.map((r) => `| ${r.scale} | ${r.status} | ${Number(r.wallSeconds).toFixed(1)} | ${JSON.stringify(r.headline ?? {})} |`);
    const md = [
      ...tables.map((t) => tableMarkdown(t, gpu.adapter)),
      ...(runs.length ? [`## gd-catapult on this adapter\n\n${provenance()}\n\n| scale | status | wall s | headline |\n| --- | --- | --- | --- |\n${runRows.join('\n')}`] : []),
    ].join('\n\n');
    writeFileSync(join(out, 'results.md'), `${md}\n`);
  };
  // Each table is saved as soon as it is done, so a run cut short keeps what it measured.
  const steps: [string, () => Promise<void>][] = [
    ['products', async () => void tables.push(await gemmTable(gpu, { sizes: quick ? [256, 512] : [256, 512, 1024, 2048, 4096], ntkK: quick ? 20_000 : 100_000, log }))],
    ['kernel choice', async () => void tables.push(await choiceTable(gpu, { rounds: 3, log }))],
    ['training steps', async () => void tables.push(await trainTable(gpu, { log }))],
    ['NTK', async () => void tables.push(await ntkTable(gpu, { log }))],
    ['dispatch cost', async () => void tables.push(await dispatchTable(gpu, { log }))],
    ['CNN', async () => void tables.push(await cnnTable(gpu, { cases: quick ? [CNN_CASES.quick] : [CNN_CASES.quick, CNN_CASES.wide, CNN_CASES.paper], log }))],
    ['WRN and ViT', async () => void tables.push(await wrnVitTable(gpu, { cases: quick ? [WRN_VIT_CASES['vit-quick']] : Object.values(WRN_VIT_CASES), log }))],
    ['gd-catapult quick', async () => void runs.push(await gdCatapult(gpu, 'quick'))],
    ...(quick ? [] : [['gd-catapult paper', async () => void runs.push(await gdCatapult(gpu, 'paper'))] as [string, () => Promise<void>]]),
  ];
  for (const [name, run] of steps) {
    const t0 = performance.now();
    log(`--- ${name}`);
    await run();
    save();
    log(`--- ${name}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  log(`written: ${['adapter.json', 'results.json', 'results.md'].map((f) => join(out, f)).join(', ')}`);
  gpu.destroy();
}

await main();
