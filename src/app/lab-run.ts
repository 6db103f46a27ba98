// One run in the lab: a Trainer driven with pause, single step and stop, its metrics kept as they are read
// back (a diverged run, a stopped one or one whose device was lost keeps every step it reached).
import type { Gpu } from '../gpu/gpu.ts';
import { findPreset } from '../run/presets.ts';
import { summarize, type RunSummary } from '../run/summary.ts';
import { Trainer, type EvalRecord, type RunStatus, type StepRecord, type TrainConfig } from '../run/train.ts';
import { fetchDataFile } from './browser-files.ts';
import type { LabState } from './lab-state.ts';

export type LabRunState = 'starting' | 'running' | 'paused' | RunStatus | 'failed' | 'loaded';

export interface LabRunData {
  label: string;
  state: LabState;
  config: TrainConfig;
  adapter: string;
  records: StepRecord[];
  evals: EvalRecord[];
  status: LabRunState;
  message?: string;
  trainSize?: number;
  trackedExamples?: number;
  summary?: RunSummary;
}

export function runLabel(state: LabState): string {
  const over = state.set.map(([k, v]) => `${k}=${v}`).join(' ');
  return `${state.preset}${state.variant ? ` (${state.variant})` : ''} seed ${state.seed}${state.scale === 'paper' ? ' paper' : ''}${over ? ` ${over}` : ''}`;
}

export class LabRun implements LabRunData {
  readonly label: string;
  records: StepRecord[] = [];
  evals: EvalRecord[] = [];
  status: LabRunState = 'starting';
  message?: string;
  trainSize?: number;
  trackedExamples?: number;
  summary?: RunSummary;
  /** Wall-clock seconds spent stepping (pauses excluded), for steps per second. */
  private activeMs = 0;
  private activeSince: number | null = null;
  private paused = false;
  private release: (() => void) | null = null;
  private singleSteps = 0;
  private stopRequested = false;

  constructor(
    readonly state: LabState,
    readonly config: TrainConfig,
    readonly adapter: string,
    private readonly onChange: (run: LabRun) => void,
  ) {
    this.label = runLabel(state);
  }

  get steps(): number {
    return this.records.length ? this.records[this.records.length - 1].step + 1 : 0;
  }

  /** Steps per second while running, and seconds left at that rate. */
  get rate(): { stepsPerSecond: number; secondsLeft: number } {
    const ms = this.activeMs + (this.activeSince !== null ? performance.now() - this.activeSince : 0);
    const done = this.steps;
    const stepsPerSecond = ms > 0 && done > 0 ? (1000 * done) / ms : 0;
    return { stepsPerSecond, secondsLeft: stepsPerSecond > 0 ? (this.config.steps - this.steps) / stepsPerSecond : NaN };
  }

  /** Builds the trainer (data, network, initial critical rate) and trains to the end; never throws. */
  async start(gpu: Gpu): Promise<void> {
    let trainer: Trainer | null = null;
    try {
      trainer = await Trainer.create(gpu, this.config, fetchDataFile);
      this.trainSize = trainer.data.train.n;
      this.trackedExamples = this.config.tracking?.set?.examples;
      this.setActive(!this.paused);
      this.status = this.paused ? 'paused' : 'running';
      this.onChange(this);
      const result = await trainer.run({
        onMetrics: (records, evals) => {
          this.records.push(...records);
          this.evals.push(...evals);
          this.onChange(this);
        },
        shouldStop: () => this.stopRequested,
        hold: () => this.hold(),
      });
      this.status = result.status;
      this.message = result.message;
    } catch (e) {
      const lost = await gpu.lostError();
      this.status = lost ? 'lost' : 'failed';
      this.message = (lost ?? (e as Error)).message;
    } finally {
      trainer?.destroy();
      this.setActive(false);
    }
    if (this.trainSize !== undefined) {
      this.summary = summarize(this.config, { status: this.status as RunStatus, steps: this.steps, records: this.records, evals: this.evals }, this.trainSize, findPreset(this.state.preset).headline);
    }
    this.onChange(this);
  }

  /** Whether a pause was asked for (the run pauses before its next step). */
  get pauseRequested(): boolean {
    return this.paused;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.singleSteps = 0;
    this.release?.();
  }

  /** While paused: one more training step, then paused again. */
  step(): void {
    if (!this.paused) return;
    // A run waiting in hold() takes exactly one step when released; one still finishing its step takes the
    // next one at its hold().
    if (this.release) this.release();
    else this.singleSteps++;
  }

  stop(): void {
    this.stopRequested = true;
    this.release?.();
  }

  get finished(): boolean {
    return !['starting', 'running', 'paused'].includes(this.status);
  }

  private hold(): Promise<void> | undefined {
    if (this.stopRequested || !this.paused) return undefined;
    if (this.singleSteps > 0) {
      this.singleSteps--;
      return undefined;
    }
    this.setActive(false);
    this.status = 'paused';
    this.onChange(this);
    return new Promise<void>((resolve) => {
      this.release = () => {
        this.release = null;
        if (!this.finished) this.status = 'running';
        this.setActive(true);
        this.onChange(this);
        resolve();
      };
    });
  }

  private setActive(active: boolean): void {
    const now = performance.now();
    if (this.activeSince !== null) this.activeMs += now - this.activeSince;
    this.activeSince = active ? now : null;
  }

  data(): LabRunData {
    return { label: this.label, state: this.state, config: this.config, adapter: this.adapter, records: this.records, evals: this.evals, status: this.status, message: this.message, trainSize: this.trainSize, trackedExamples: this.trackedExamples, summary: this.summary };
  }
}
