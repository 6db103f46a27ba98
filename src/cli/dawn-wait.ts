// How the command line waits for Dawn. Dawn for Node (the `webgpu` package) settles its promises (mapAsync,
// onSubmittedWorkDone, pipeline creation) from a tick that it queues again through the global setImmediate
// for as long as one of them is pending: the main thread spins at a full core while the GPU works. On a CPU
// driver that core is one the driver's own threads need (lavapipe runs one per core), so spinning slows whole
// runs down; only nets of hundreds of tiny dispatches per step gain a little from it (bench/RESULTS.md,
// "The CPU drivers compared", has the figures).
//
// While a wait is pending, each setImmediate call first sleeps the thread (Atomics.wait) for a tenth of the
// time waited so far, at most a millisecond, then queues its callback as usual: a wait ends at most ~10 %
// or 1 ms late, and a short one keeps its latency. The callback still runs as an immediate, when it would
// have: deferring Dawn's tick to a timer instead made lavapipe crash in vkCreateDescriptorPool now and then
// (test/preconditioned.test.ts). The global is restored when no wait is left.
import { promisify } from 'node:util';

/** Each tick sleeps this share of the time waited so far... */
const SLEEP_SHARE = 0.1;
/** ...and at most this long. */
const MAX_SLEEP_MS = 1;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

let polling = true;
let pending = 0;
let realSetImmediate: typeof setImmediate | null = null;

/** Whether waits poll Dawn (the default) or let it spin as it does by itself: for benchmarks that compare the two. */
export function pollDawn(on: boolean): void {
  polling = on;
}

function throttled(real: typeof setImmediate, since: number): typeof setImmediate {
  const replacement = ((callback: (...args: unknown[]) => void, ...args: unknown[]) => {
    const sleep = Math.min(MAX_SLEEP_MS, (performance.now() - since) * SLEEP_SHARE);
    if (sleep > 0.01) Atomics.wait(sleeper, 0, 0, sleep);
    return real(callback, ...args);
  }) as typeof setImmediate;
  // util.promisify(setImmediate) keeps working inside the window.
  Object.defineProperty(replacement, promisify.custom, { value: (real as unknown as Record<symbol, unknown>)[promisify.custom] });
  return replacement;
}

/** Resolves as `work` does, with Dawn polled instead of spun while it is pending. */
export async function dawnWait<T>(work: Promise<T>): Promise<T> {
  if (!polling) return work;
  if (pending++ === 0) {
    realSetImmediate = globalThis.setImmediate;
    globalThis.setImmediate = throttled(realSetImmediate, performance.now());
  }
  try {
    return await work;
  } finally {
    if (--pending === 0) {
      globalThis.setImmediate = realSetImmediate!;
      realSetImmediate = null;
    }
  }
}
