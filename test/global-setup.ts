// Printed once at the start of `vitest run`: the adapter every Node test file will get (each file acquires
// its own device the same way, through test/gpu.ts). No adapter fails here, before any test runs.
import { requestNodeGpu } from '../src/cli/node-gpu.ts';
import { adapterLine } from '../src/gpu/gpu.ts';

export default async function setup(): Promise<void> {
  const gpu = await requestNodeGpu();
  console.log(`Node tests on ${adapterLine(gpu.adapter)}`);
  gpu.destroy();
}
