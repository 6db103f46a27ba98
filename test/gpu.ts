// The device the Node tests share. No adapter means the tests fail: requestNodeGpu throws NoAdapterError.
import { requestNodeGpu } from '../src/cli/node-gpu.ts';
import { describeAdapter, type Gpu } from '../src/gpu/gpu.ts';

let shared: Promise<Gpu> | null = null;

export function testGpu(): Promise<Gpu> {
  shared ??= requestNodeGpu().then((gpu) => {
    console.log(`adapter: ${describeAdapter(gpu.adapter)}${gpu.adapter.note ? ` — ${gpu.adapter.note}` : ''}`);
    return gpu;
  });
  return shared;
}
