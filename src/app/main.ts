// The lab page. Until the dashboards arrive it runs the kernel demo on the browser's own adapter; URL
// parameters n, d, width and seed set its shapes (e.g. ?n=32&d=64&width=128).
import { describeAdapter } from '../gpu/gpu.ts';
import { runDemo } from '../run/kernel-demo.ts';
import { requestBrowserGpu } from './browser-gpu.ts';

const adapterLine = document.getElementById('adapter')!;
const out = document.getElementById('out')!;
const params = new URLSearchParams(location.search);
const int = (name: string, fallback: number) => {
  const v = Number(params.get(name) ?? fallback);
  return Number.isInteger(v) && v >= 0 ? v : fallback;
};

try {
  const gpu = await requestBrowserGpu();
  adapterLine.textContent = `adapter: ${describeAdapter(gpu.adapter)}${gpu.adapter.isSoftware ? ' — a software adapter: timings are CPU timings' : ''}`;
  await runDemo(gpu, { seed: int('seed', 0), n: int('n', 128) || 128, d: int('d', 784) || 784, width: int('width', 1024) || 1024 }, (line) => {
    out.textContent += `${line}\n`;
  });
  document.body.dataset.state = 'done';
} catch (e) {
  adapterLine.textContent = `error: ${(e as Error).message}`;
  document.body.dataset.state = 'error';
}
