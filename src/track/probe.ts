// A probe is one tracked quantity, whole: its part of the config (tracking.<key>), the slots it writes in a
// step's metrics row, the fields it adds to step records, what it records into a training step, what it reads
// back, its warm starts and its charts. The Tracker (src/track/tracker.ts) runs the enabled probes in the
// order of the registry (src/track/registry.ts); a new quantity is a new file here and one line there.
//
// Probes record into the training step's own encoder, before the update, so every quantity belongs to the
// parameters the step's loss was measured at (a probe that measures the step's effect also records after it); what they write goes to the step's metrics row, which the
// runner reads back every readbackEvery steps. Probes share no state with each other: what two of them need
// (the step's forward pass, the tracked set's NTK) the context hands each of them, formed once per step.
import type { z } from 'zod';
import type { Gpu } from '../gpu/gpu.ts';
import type { Matrix } from '../gpu/matrix.ts';
import type { Step } from '../gpu/step.ts';
import type { Network, Tape } from '../nn/network.ts';
import type { OperatorSource } from '../ntk/operator.ts';
import type { PowerIteration } from '../ntk/spectrum.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import type { ChartDef, ChartRunView } from './chart.ts';
import type { BaseStepRecord, Fields, RecordOf } from './record.ts';
import type { TrackedSet, TrackedSetAtStep } from './tracked-set.ts';

/** What a probe is built from, once per run. */
export interface ProbeSetup {
  gpu: Gpu;
  net: Network;
  /** The whole tracking config, for the probes that depend on another's settings (the set's size). */
  tracking: Readonly<Record<string, unknown>>;
  /** The tracked set (tracking.set), or null where none is tracked. */
  set: TrackedSet | null;
  /** The training set's inputs and targets on the GPU. */
  trainInputs: Matrix;
  trainTargets: Matrix;
  /** Examples per forward pass (config.microBatch, else what one pass of the network takes). */
  passRows: number;
  /** The run's loss. */
  loss: 'mse' | 'cross-entropy';
  /** Rows of the metrics buffer (steps between readbacks), for what is staged until a readback. */
  metricRows: number;
  optimizer: Optimizer;
  /** The task's true EGOP, or a reference network's AGOP (tracking.agop). */
  egop?: Float64Array;
  /** Whether a live-η_crit schedule reads this run's batch λ_max on the GPU within each step. */
  liveBatchRate: boolean;
  /** Why a training batch is not in one forward pass (micro-batches), or null: the step's tape is then a part of it. */
  notOnePass: string | null;
}

/** What a probe sees of one training step. */
export interface StepContext {
  step: Step;
  t: number;
  /** The step's row of the metrics buffer. */
  row: number;
  metrics: GPUBuffer;
  /** The index in `metrics` of this probe's slot `name` in the step's row. */
  slot(name: string): number;
  /** The step's forward pass of its batch (at the parameters before the update), and the batch's targets. */
  tape: Tape;
  Y: Matrix;
  /** The batch's row numbers in the training set (null: the whole set, in order). */
  batchIndex: GPUBuffer | null;
  /** The tracked set at this step's parameters, formed once for all the probes that ask. */
  set: TrackedSetAtStep | null;
}

/** What a probe sees of a training step after its update, in the step's encoder: the parameters are w^{t+1}. */
export interface AfterContext {
  step: Step;
  t: number;
  metrics: GPUBuffer;
  slot(name: string): number;
  /** The step's batch. */
  X: Matrix;
  Y: Matrix;
}

/** What a probe reads back of one step: its slots' values, and the record so far (earlier probes' fields). */
export interface ReadContext {
  t: number;
  /** Rows of step t's batch. */
  batchRows: number;
  lr: number;
  value(name: string): number;
  record: Readonly<Record<string, unknown>>;
}

export interface Probe<R> {
  /** Whether step t records this probe. */
  due(t: number): boolean;
  /**
   * Work at step t's parameters that waits for a readback, recorded in steps of its own before the training
   * step (the spectrum's GPU Lanczos): where a probe has it, the runner calls it before each step.
   */
  before?(t: number): Promise<void>;
  record(ctx: StepContext): Promise<void>;
  /** Work at the parameters after the step's update (the batch's own loss after its step), where a probe has it. */
  after?(ctx: AfterContext): Promise<void>;
  /** After the runner's readback, before read(): reads back and solves what was staged on the host. */
  collect?(): Promise<void>;
  /** Step t's fields. Called for every step; a probe that was not due returns nothing. */
  read(ctx: ReadContext): R;
  /** Power iterations whose vectors a checkpoint keeps, by name, so a resumed run tracks as the original. */
  warmStarts?(): Record<string, PowerIteration>;
  /** Makes the warm start `name` of a checkpoint exist before it is restored (one per batch size seen). */
  expectWarmStart?(name: string): void;
  destroy(): void;
}

export interface ProbeSpec<K extends string = string, S extends z.ZodType = z.ZodType, F extends Fields = Fields> {
  /** Its key in tracking. */
  key: K;
  /** Its part of the config schema. */
  schema: S;
  /** The slots it writes in a step's metrics row. */
  slots: readonly string[];
  /** The fields it adds to step records. */
  fields: F;
  /** Its eigenvalue fields with their residual fields, for convergence summaries and hollow chart points. */
  eigenvalues?: readonly { value: keyof F & string; residual: keyof F & string; label: string }[];
  /** Charts of its own, after the run charts of src/charts/figure.ts. */
  charts?: readonly ChartDef<BaseStepRecord & RecordOf<F>, ChartRunView<BaseStepRecord & RecordOf<F>>>[];
  /** Products with the tracked set's NTK per tracked step, for the set's method choice (formed or matrix-free). */
  setProducts?(config: z.infer<S>, dim: number): number;
  /** Rules across the config that its schema cannot state; trainSize where the config or the data gives it. */
  check?(config: z.infer<S>, tracking: Readonly<Record<string, unknown>>, trainSize?: number): void;
  create(setup: ProbeSetup, config: z.infer<S>): Probe<RecordOf<F>>;
}

/** A probe's definition, its types inferred from its schema and fields. */
export const defineProbe = <K extends string, S extends z.ZodType, F extends Fields>(spec: ProbeSpec<K, S, F>): ProbeSpec<K, S, F> => spec;

export const dueEvery = (every: number | undefined) => (t: number) => t % (every ?? 1) === 0;

/**
 * The fewest power iterations at a cold start (the first tracked step, with no warm start restored or
 * adopted): from a random vector, 20 leave λ₂/λ₁ = 0.91 at 0.91²⁰ = 15 % of the start's weight; 100 at 8e-5.
 */
const COLD_START_ITERATIONS = 100;

/** The power iterations of a tracked step when the config does not say. */
export const DEFAULT_ITERATIONS = 20;

/** Power iterations into the slots `value` and `residual` of the step's row; more of them from a cold start. */
export async function recordPower(ctx: StepContext, power: PowerIteration, K: OperatorSource, configured: number | undefined, value = 'lambda', residual = 'residual'): Promise<void> {
  const iterations = power.warm ? (configured ?? DEFAULT_ITERATIONS) : Math.max(configured ?? DEFAULT_ITERATIONS, COLD_START_ITERATIONS);
  await power.record(ctx.step, K, iterations, ctx.metrics, ctx.slot(value), ctx.slot(residual));
  power.warm = true;
}
