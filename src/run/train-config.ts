// A training run's config, TrainConfig, and its checks beyond the schema (src/config/schema.ts): rules across
// fields, and the model's shapes against the data's. The trainer, checkpoints and the lab read it from here.
import { Rng } from '../data/random.ts';
import { checkConfigPart, trainConfigSchema } from '../config/schema.ts';
import { modelGraph, type ModelConfig } from '../nn/models.ts';
import { ADAPTIVE_OPTIMIZERS, resolveOptimizer, type OptimizerConfig } from '../optim/optimizer.ts';
import { liveSchedule, validateSchedule, type Schedule } from '../optim/schedules.ts';
import { validateTracking, type TrackingConfig } from '../track/registry.ts';
import { dataShape, type DataConfig } from './data.ts';

export type LossName = 'mse' | 'cross-entropy';

export const LR_UNITS = ['absolute', 'eta-crit', 'example-eta-crit'] as const;
export type LrUnit = (typeof LR_UNITS)[number];

export type { ModelConfig, TrackingConfig };

export interface TrainConfig {
  data: DataConfig;
  model: ModelConfig;
  /** 'mse': L = (1/b)‖f − y‖² (the paper's); 'cross-entropy': mean softmax cross-entropy. */
  loss: LossName;
  optimizer: OptimizerConfig;
  schedule: Schedule;
  /**
   * The unit of every rate in the schedule: 'absolute' (default); 'eta-crit', multiples of the whole
   * training set's η_crit = n/λ_max(K) measured at initialization (how EXPERIMENTS.md asks presets to state
   * rates); 'example-eta-crit', multiples of the median over examples of the single-example critical rate
   * 1/K(x_i, x_i) at initialization (for SGD at batch size 1).
   */
  lrUnit?: LrUnit;
  /** Examples per step; 'full' (or the training set's size) is gradient descent. */
  batchSize: number | 'full';
  steps: number;
  /** Stop once the training loss falls below this (full-set loss at evaluations, batch loss for GD). */
  stopAtLoss?: number;
  /** A loss above this (or NaN, ±Inf) ends the run as diverged. Default DEFAULT_DIVERGE_ABOVE. */
  divergeAbove?: number;
  /** Evaluate on the whole training set and the val/test sets every this many steps (0: at the end only). */
  evalEvery?: number;
  /** Read the per-step metrics back every this many steps. Default 25. */
  readbackEvery?: number;
  /**
   * Examples per forward/backward pass: a larger batch runs in passes of this many, their gradients summed
   * (the same step, less memory). Default: as many as one storage binding of the device holds.
   */
  microBatch?: number;
  /** Spectral tracking: one probe per tracked quantity (src/track/registry.ts). */
  tracking?: TrackingConfig;
  seed: number;
}

export const DEFAULT_DIVERGE_ABOVE = 1e8;

/**
 * Checks a config against its schema (src/config/schema.ts: every key, type, range and choice), then what
 * the schema cannot say: rules across fields, and the model's shapes against the data's.
 */
export function validateTrainConfig(c: TrainConfig): void {
  checkConfigPart(trainConfigSchema, c, '');
  validateSchedule(c.schedule);
  resolveOptimizer(c.optimizer);
  // The training set's size, where the config alone says it (a file's count is checked once it is read).
  const n = c.data.kind === 'sphere' ? c.data.n : c.data.train;
  validateTracking(c.tracking, n);
  const live = liveSchedule(c.schedule);
  if (live) {
    if ((c.lrUnit ?? 'absolute') !== 'absolute') throw new RangeError(`schedule "eta-crit" is already in units of the live η_crit: lrUnit must be "absolute", not "${c.lrUnit}"`);
    if (live.of === 'set' && !c.tracking?.set) throw new RangeError('schedule "eta-crit" of "set" follows the tracked set\'s λ_max: it needs tracking.set');
    if (live.of === 'batch' && !c.tracking?.batch) throw new RangeError('schedule "eta-crit" of "batch" follows each batch\'s λ_max: it needs tracking.batch');
    if (live.of === 'batch' && c.tracking?.batch?.solver === 'exact') throw new RangeError('schedule "eta-crit" of "batch" needs λ_max on the GPU at each step: tracking.batch.solver "exact" solves it on the host after the step; use "power" or "auto"');
  }
  if (c.tracking?.preconditioned && !(ADAPTIVE_OPTIMIZERS as readonly string[]).includes(c.optimizer.name)) {
    throw new RangeError(`tracking.preconditioned needs an adaptive optimizer (${ADAPTIVE_OPTIMIZERS.join(', ')}), not ${c.optimizer.name}: its critical rate is the batch NTK's, tracked by tracking.batch`);
  }
  if (typeof c.batchSize === 'number' && c.batchSize > n) throw new RangeError(`batchSize ${c.batchSize} is larger than the training set (${n})`);
  if (c.stopAtLoss !== undefined && c.batchSize !== 'full' && !c.evalEvery) {
    // With minibatches the stopping rule reads the full training loss, which is measured at evaluations.
    throw new RangeError('stopAtLoss with a minibatch needs evalEvery > 0: the full training loss is measured at evaluations');
  }
  // The model's values and shapes against the data's, here rather than only when the run builds it.
  const io = dataShape(c.data);
  // An ONNX model's shapes are checked once its file is read (loadModel).
  if (io && c.model.kind !== 'onnx') modelGraph(c.model, io.shape, io.k);
}

/** Seeds of a run's parts, derived from its one seed: data, initialization, batch order. */
export function partSeeds(seed: number): { data: number; init: number; batches: number } {
  const r = new Rng(seed);
  return { data: r.nextU32(), init: r.nextU32(), batches: r.nextU32() };
}
