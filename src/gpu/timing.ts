// Kernel timing: GPU timestamps where the adapter has them, wall time around onSubmittedWorkDone otherwise.
// Neither includes readback: the timed step only records GPU work.
import type { Gpu } from './gpu.ts';
import type { Step } from './step.ts';

export type TimingMethod = 'timestamp-query' | 'wall-clock';

export interface Timing {
  method: TimingMethod;
  /** Milliseconds per repetition, in the order measured. */
  samplesMs: number[];
  medianMs: number;
}

export interface TimingOptions {
  warmup?: number;
  /** At least this many repetitions... */
  minReps?: number;
  /** ...and more, up to maxReps, until this much time was spent. */
  minTotalMs?: number;
  maxReps?: number;
  /** Force wall-clock timing even where timestamps exist (to compare the two). */
  method?: TimingMethod;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Times a step recorded by `record` (called, and awaited, once per repetition on a fresh Step). */
export async function timeStep(gpu: Gpu, record: (step: Step) => void | Promise<void>, options: TimingOptions = {}): Promise<Timing> {
  const { warmup = 1, minReps = 3, minTotalMs = 0, maxReps = 50 } = options;
  const method: TimingMethod = options.method ?? (gpu.timestamps ? 'timestamp-query' : 'wall-clock');
  const once = async (): Promise<number> => {
    const step = gpu.step('timed');
    await record(step);
    if (method === 'timestamp-query') return (await gpu.submitTimed(step)) / 1e6;
    await gpu.done();
    const t0 = performance.now();
    gpu.submit(step);
    await gpu.done();
    return performance.now() - t0;
  };
  for (let i = 0; i < warmup; i++) await once();
  const samplesMs: number[] = [];
  let total = 0;
  while (samplesMs.length < minReps || (total < minTotalMs && samplesMs.length < maxReps)) {
    const ms = await once();
    samplesMs.push(ms);
    total += ms;
  }
  return { method, samplesMs, medianMs: median(samplesMs) };
}
