// The policy of a run, apart from how a step is recorded (src/run/train.ts): when the metrics are read back,
// when the run evaluates, pauses or stops, and how it ends: completed, converged (the stopping rule), diverged
// (a loss above divergeAbove, not finite, or a dead network), lost (the device) or stopped, with every metric
// read back so far kept in the result.
import { DeviceLostError } from '../gpu/errors.ts';
import type { EvalRecord } from '../track/record.ts';
import type { StepRecord } from '../track/registry.ts';
import { blownUp, collapsed, endMessage, type RunCallbacks, type RunResult, type RunStatus } from './run-result.ts';
import { DEFAULT_DIVERGE_ABOVE } from './train-config.ts';
import type { TrainConfig } from './train-config.ts';

/** What the loop drives (a Trainer). */
export interface SteppedRun {
  readonly config: Pick<TrainConfig, 'steps' | 'evalEvery' | 'stopAtLoss' | 'divergeAbove'>;
  /** Updates made so far. */
  readonly step: number;
  readonly readbackEvery: number;
  /** Whether every step's batch is the whole training set (its loss then decides the stopping rule). */
  readonly fullBatch: boolean;
  readonly gpu: { lostError(): Promise<Error | null> };
  readonly tracker: { before(t: number): Promise<void> } | null;
  /** Records one step into metrics row `row`, nothing read back. */
  trainStep(row: number): Promise<void>;
  /** The records of the last `pending` steps. */
  readBack(pending: number): Promise<StepRecord[]>;
  evaluate(): Promise<EvalRecord>;
}

export async function runLoop(trainer: SteppedRun, callbacks: RunCallbacks): Promise<RunResult> {
  const records: StepRecord[] = [];
  const evals: EvalRecord[] = [];
  const c = trainer.config;
  const divergeAbove = c.divergeAbove ?? DEFAULT_DIVERGE_ABOVE;
  const end = (status: RunStatus, message?: string): RunResult => ({ status, steps: trainer.step, records, evals, ...(message ? { message } : {}) });
  const ended = (status: RunStatus) => end(status, endMessage(status, records, evals, divergeAbove, c.stopAtLoss, trainer.step));
  let pending = 0;
  const flush = async (): Promise<RunStatus | null> => {
    if (pending === 0) return null;
    const fresh = await trainer.readBack(pending);
    pending = 0;
    records.push(...fresh);
    callbacks.onMetrics?.(fresh, []);
    if (fresh.some((r) => blownUp(r, divergeAbove) || collapsed(r))) return 'diverged';
    if (c.stopAtLoss !== undefined && trainer.fullBatch && fresh.some((r) => r.loss < c.stopAtLoss!)) return 'converged';
    return null;
  };
  const evaluate = async (): Promise<RunStatus | null> => {
    const e = await trainer.evaluate();
    evals.push(e);
    callbacks.onMetrics?.([], [e]);
    if (!Number.isFinite(e.trainLoss) || e.trainLoss > divergeAbove) return 'diverged';
    return c.stopAtLoss !== undefined && e.trainLoss < c.stopAtLoss ? 'converged' : null;
  };
  try {
    while (trainer.step < c.steps) {
      if (callbacks.shouldStop?.()) {
        await flush();
        return end('stopped', `stopped after ${trainer.step} steps`);
      }
      const hold = callbacks.hold?.();
      if (hold) {
        const status = await flush();
        if (status) return ended(status);
        await hold;
        if (callbacks.shouldStop?.()) return end('stopped', `stopped after ${trainer.step} steps`);
      }
      await callbacks.atStep?.(trainer.step);
      if (c.evalEvery && trainer.step % c.evalEvery === 0) {
        const status = (await flush()) ?? (await evaluate());
        if (status) return ended(status);
      }
      // Work that reads back (the spectrum's GPU Lanczos) runs first, at the parameters the step will see.
      await trainer.tracker?.before(trainer.step);
      await trainer.trainStep(pending);
      pending++;
      if (pending === trainer.readbackEvery || trainer.step === c.steps) {
        const status = await flush();
        if (status) return ended(status);
      }
    }
    await callbacks.atStep?.(trainer.step);
    const status = await evaluate();
    return status ? ended(status) : end('completed');
  } catch (e) {
    if (e instanceof DeviceLostError) return end('lost', e.message);
    // Work on a lost device can fail in other ways first (a rejected map, a destroyed buffer).
    const lost = await trainer.gpu.lostError();
    if (lost) return end('lost', lost.message);
    throw e;
  }
}
