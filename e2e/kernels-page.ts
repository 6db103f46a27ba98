// The kernel checks of test/kernel-checks.ts, exposed to Playwright as window.catapultChecks so that headless
// Chromium runs exactly the assertions the Node tests run.
import { requestBrowserGpu } from '../src/app/browser-gpu.ts';
import { fetchDataFile } from '../src/app/browser-files.ts';
import { Trainer, type RunResult, type TrainConfig } from '../src/run/train.ts';
import { Rng } from '../src/data/random.ts';
import { splitSample } from './kernels-page-sample.ts';
import { describeAdapter, type AdapterSummary } from '../src/gpu/gpu.ts';
import { kernelChecks, type CheckResult } from '../test/kernel-checks.ts';

export interface CheckPage {
  names: string[];
  adapter(): Promise<AdapterSummary>;
  run(name: string): Promise<CheckResult>;
  runAll(): Promise<Record<string, CheckResult>>;
  rngSample(seed: number, n: number): number[];
  splitSample(seed: number): number[][];
  train(config: TrainConfig): Promise<RunResult>;
}

declare global {
  interface Window {
    catapultChecks: CheckPage;
  }
}

const gpu = requestBrowserGpu('high-performance', (new URLSearchParams(location.search).get('featureLevel') as 'compatibility' | null) ?? undefined);
const adapterLine = document.getElementById('adapter')!;
const log = document.getElementById('log')!;
gpu.then(
  (g) => (adapterLine.textContent = `adapter: ${describeAdapter(g.adapter)}`),
  (e: Error) => (adapterLine.textContent = `no WebGPU device: ${e.message}`),
);

async function run(name: string): Promise<CheckResult> {
  const check = kernelChecks.find((c) => c.name === name);
  if (!check) return { ok: false, detail: `no check named "${name}" on this page` };
  let result: CheckResult;
  try {
    result = await check.run(await gpu);
  } catch (e) {
    result = { ok: false, detail: `threw ${(e as Error).stack ?? e}` };
  }
  log.textContent += `${result.ok ? 'ok  ' : 'FAIL'} ${name}: ${result.detail}\n`;
  return result;
}

window.catapultChecks = {
  names: kernelChecks.map((c) => c.name),
  adapter: async () => (await gpu).adapter,
  run,
  async runAll() {
    const results: Record<string, CheckResult> = {};
    for (const c of kernelChecks) results[c.name] = await run(c.name);
    return results;
  },
  rngSample(seed, n) {
    const rng = new Rng(seed);
    return Array.from({ length: n }, () => rng.normal());
  },
  splitSample,
  async train(config) {
    // Data paths resolve against the site root (the page lives in e2e/).
    const trainer = await Trainer.create(await gpu, config, (path) => fetchDataFile(`/${path}`));
    const result = await trainer.run();
    trainer.destroy();
    return result;
  },

};
