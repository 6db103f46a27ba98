import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { dawnWait, pollDawn } from '../src/cli/dawn-wait.ts';
import { matmul } from '../src/kernels/ops.ts';
import { releaseTestGpu, testGpu } from './gpu.ts';

afterAll(releaseTestGpu);

/** Counts setImmediate calls while `body` runs, through the global as Dawn's ticks reach it. */
async function countImmediates(body: () => Promise<void>): Promise<{ calls: number; ms: number }> {
  const real = globalThis.setImmediate;
  let calls = 0;
  const counting = ((callback: (...args: unknown[]) => void, ...args: unknown[]) => (calls++, real(callback, ...args))) as typeof setImmediate;
  globalThis.setImmediate = counting;
  const t0 = performance.now();
  try {
    await body();
  } finally {
    globalThis.setImmediate = real;
  }
  return { calls, ms: performance.now() - t0 };
}

/** A tick that queues itself again while `until` is pending, as Dawn's does. */
function spin(until: { done: boolean }): void {
  if (!until.done) globalThis.setImmediate(() => spin(until));
}

describe('waiting for Dawn', () => {
  it('polls a self-requeueing tick (sleeping a tenth of the wait so far, at most 1 ms), and restores setImmediate after', async () => {
    const real = globalThis.setImmediate;
    const ticks = async () => {
      const state = { done: false };
      return countImmediates(async () => {
        spin(state);
        await dawnWait(new Promise<void>((r) => setTimeout(r, 60))).finally(() => (state.done = true));
      });
    };
    const polled = await ticks();
    expect(polled.ms).toBeGreaterThanOrEqual(55);
    // About 50 ticks at 1 ms and ~50 while the sleep grows to it; spun, thousands.
    expect(polled.calls).toBeLessThan(polled.ms + 400);
    expect(globalThis.setImmediate).toBe(real);
    pollDawn(false);
    try {
      const spun = await ticks();
      expect(spun.calls).toBeGreaterThan(3 * polled.calls);
    } finally {
      pollDawn(true);
    }
  });

  it('restores setImmediate once the last of overlapping waits settles, a rejected one included', async () => {
    const real = globalThis.setImmediate;
    const slow = dawnWait(new Promise<string>((r) => setTimeout(() => r('slow'), 20)));
    const failing = dawnWait(Promise.reject(new Error('map failed')));
    await expect(failing).rejects.toThrow('map failed');
    expect(globalThis.setImmediate).not.toBe(real);
    // util.promisify(setImmediate) still works inside the window.
    await expect(promisify(globalThis.setImmediate)('value')).resolves.toBe('value');
    await expect(slow).resolves.toBe('slow');
    expect(globalThis.setImmediate).toBe(real);
  });

  it('is what the Node device waits with: a long GPU product is polled, not spun', async () => {
    const gpu = await testGpu();
    const n = 512;
    const [A, B, C] = ['A', 'B', 'C'].map((name) => gpu.matrix(name, n, n, new Float32Array(n * n).fill(1e-3)));
    const step = gpu.step('warm-up');
    await matmul(step, A, B, C);
    gpu.submit(step);
    await gpu.done();
    const { calls, ms } = await countImmediates(async () => {
      const work = gpu.step('a few products');
      for (let i = 0; i < 4; i++) await matmul(work, A, B, C);
      gpu.submit(work);
      await gpu.read(C, 0, 4);
    });
    for (const m of [A, B, C]) m.buffer.destroy();
    expect(ms).toBeGreaterThan(20);
    // Dawn's tick at full rate runs every 10-60 µs (15 a millisecond measured on lavapipe); polled, about one.
    expect(calls, `${calls} ticks in ${ms.toFixed(0)} ms`).toBeLessThan(40 + 2 * ms);
  });
});
