// What a run returns and whom it tells on the way: its status, its records, and the callbacks a runner gives
// (the CLI's files and progress, the lab's charts and controls).
import type { EvalRecord } from '../track/record.ts';
import type { StepRecord } from '../track/registry.ts';

export type RunStatus = 'completed' | 'converged' | 'diverged' | 'lost' | 'stopped';

export interface RunResult {
  status: RunStatus;
  /** Updates made. */
  steps: number;
  records: StepRecord[];
  evals: EvalRecord[];
  /** Why the run ended early, if it did. */
  message?: string;
}

export interface RunCallbacks {
  /** After each readback: the new step records and evaluations. */
  onMetrics?(records: StepRecord[], evals: EvalRecord[]): void;
  /** Checked between steps; true ends the run as 'stopped' with every metric so far. */
  shouldStop?(): boolean;
  /** Called before each step and once after the last, with the number of updates made (for checkpoints). */
  atStep?(updates: number): Promise<void>;
  /**
   * Checked before each step: a promise pauses the run until it settles, after the metrics of every step so
   * far have been read back (so a paused or single-stepped run shows all of them).
   */
  hold?(): Promise<void> | undefined;
}

/**
 * A network whose tracked NTK is zero (or NaN from normalizing a zero vector) has no gradient left: every
 * ReLU is dead. Its loss stays finite forever, but the run has diverged in all but name.
 */
export const collapsed = (r: StepRecord) => r.lambda !== undefined && !(r.lambda > 0) && Number.isFinite(r.loss);

/** A step whose loss ends the run as diverged: not finite, or above divergeAbove. */
export const blownUp = (r: { loss: number }, divergeAbove: number) => !Number.isFinite(r.loss) || r.loss > divergeAbove;

/** Why a run ended as it did, in a sentence ('' for a run that completed or was stopped). */
export function endMessage(status: RunStatus, records: StepRecord[], evals: EvalRecord[], divergeAbove: number, stopAtLoss: number | undefined, steps: number): string {
  if (status === 'diverged') {
    const dead = records.find(collapsed);
    const bad = records.find((r) => blownUp(r, divergeAbove));
    if (dead && (!bad || dead.step < bad.step)) return `the tracked NTK vanished at step ${dead.step} (λ_max ${dead.lambda}): every ReLU is dead, so no step can move the network again (lr ${dead.lr})`;
    return bad ? `loss ${bad.loss} at step ${bad.step} (lr ${bad.lr})` : `training loss ${evals[evals.length - 1]?.trainLoss} at evaluation`;
  }
  if (status === 'converged') return `training loss below ${stopAtLoss} after ${steps} steps`;
  return '';
}
