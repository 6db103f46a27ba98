// The device the Node tests share. No adapter means the tests fail: requestNodeGpu throws NoAdapterError.
import { requestNodeGpu } from '../src/cli/node-gpu.ts';
import type { Gpu } from '../src/gpu/gpu.ts';

let shared: Promise<Gpu> | null = null;

/**
 * The shared device. Tests await it themselves (not in beforeAll, where a failure reports the tests as
 * skipped): without an adapter every test fails with NoAdapterError.
 */
export function testGpu(): Promise<Gpu> {
  // The run's adapter is printed once, by test/global-setup.ts.
  shared ??= requestNodeGpu();
  return shared;
}

/** Destroys the shared device if one was acquired (for afterAll). */
export async function releaseTestGpu(): Promise<void> {
  const gpu = await shared?.catch(() => null);
  gpu?.destroy();
  shared = null;
}
