// The training loop: a config in, per-step and evaluation metrics out. Each step is one command encoder
// (gather the batch on the GPU, forward, loss, backward, optimizer update); the step's loss goes into a
// metrics buffer on the GPU, read back every `readbackEvery` steps, when the run checks divergence and
// its stopping rule. Nothing else is read back on the way.
import { Rng } from '../data/random.ts';
import { BatchOrder } from '../data/splits.ts';
import type { Dataset } from '../data/dataset.ts';
import { DeviceLostError } from '../gpu/errors.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { Matrix } from '../gpu/matrix.ts';
import { gather, reduce } from '../gpu/ops.ts';
import type { Step } from '../gpu/step.ts';
import { exampleShape } from '../data/dataset.ts';
import { Matrix as GpuMatrix } from '../gpu/matrix.ts';
import { addInPlace } from '../../shaders/lincomb.ts';
import type { Graph } from '../nn/graph.ts';
import { loadModel, networkOf, type ModelSource } from './model-source.ts';
import { LossHeads } from '../nn/loss.ts';
import { modelGraph, type ModelConfig } from '../nn/models.ts';
import { checkConfigPart, trainConfigSchema } from '../config/schema.ts';
import type { Tape } from '../nn/network.ts';
import { Optimizer, resolveOptimizer, type OptimizerConfig } from '../optim/optimizer.ts';
import { learningRate, liveSchedule, validateSchedule, type Schedule } from '../optim/schedules.ts';
import { LiveRate } from '../optim/live-rate.ts';

/** The checkpoint's name for the live rate's state (beside the tracker's warm starts). */
const LIVE_RATE_STATE = 'live-rate';
import { NtkGram } from '../ntk/gram.ts';
import { NetworkAgop } from '../ntk/agop.ts';
import { checkpointOptimizer, checkpointParams, decodeCheckpoint, encodeCheckpoint } from './checkpoint.ts';
import { MatrixFreeNtk } from '../ntk/matrix-free.ts';
import { PowerIteration } from '../ntk/spectrum.ts';
import { METRIC_SLOTS, SLOT, Tracker, validateTracking, type TrackingConfig } from '../ntk/tracker.ts';
import { buildData, dataShape, type DataConfig, type ReadFile, type RunData } from './data.ts';

export type LossName = 'mse' | 'cross-entropy';

export type { ModelConfig };

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
  /** A loss above this (or NaN, ±Inf) ends the run as diverged. Default 1e8. */
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
  /** Spectral tracking: NTK of each batch and of a fixed set, loss split, AGOP alignment (src/ntk/tracker.ts). */
  tracking?: TrackingConfig;
  seed: number;
}

export const LR_UNITS = ['absolute', 'eta-crit', 'example-eta-crit'] as const;
export type LrUnit = (typeof LR_UNITS)[number];

export interface StepRecord {
  step: number;
  lr: number;
  /** Mean loss of the step's batch, before the update. */
  loss: number;
  /** Share of the batch classified correctly (cross-entropy only). */
  accuracy?: number;
  /** Where tracked: λ_max of the batch's NTK and η_crit(batch) = b/λ_max. */
  lambdaBatch?: number;
  etaCrit?: number;
  /** Where tracked: λ_max of the fixed set's NTK, the set's loss, and its split L≤1 + L>1. */
  lambda?: number;
  setLoss?: number;
  lossTop?: number;
  lossRest?: number;
  /** Where tracked: cos(AGOP, true EGOP) on the fixed set. */
  alignment?: number;
  /** Where tracked (Adagrad): s_t, the largest effective rate η/s_t and the bound s_t·n/λ_max(K). */
  adagradS?: number;
  adagradRate?: number;
  adagradBound?: number;
  /** Where tracked: λ_max of the batch loss's Hessian and 2/λ_max(H), to set beside etaCrit. */
  lambdaHessian?: number;
  etaCritHessian?: number;
  /** Where tracked (spectrum): the set's top-s NTK eigenvalues, λ_min, λ_max/λ_min, L≤s and L>s. */
  eigenvalues?: number[];
  lambdaMin?: number;
  condition?: number;
  lossTopS?: number;
  lossRestS?: number;
  /**
   * Beside each eigenvalue, its relative residual ‖Kv − λv‖/λ (src/run/convergence.ts): of the batch's
   * λ_max (exact solve or power iteration), the set's, the Hessian's, λ_min and each top eigenvalue (Lanczos).
   */
  lambdaBatchResidual?: number;
  lambdaResidual?: number;
  lambdaHessianResidual?: number;
  lambdaMinResidual?: number;
  eigenvalueResiduals?: number[];
  /** Where tracked (adaptive optimizers): λ_max of the batch's J·P·Jᵀ, its residual, and η_crit^P = b/λ_max. */
  lambdaPreconditioned?: number;
  lambdaPreconditionedResidual?: number;
  etaCritPreconditioned?: number;
}

export interface EvalRecord {
  /** Parameters after this many updates. */
  step: number;
  trainLoss: number;
  trainAccuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
  testLoss?: number;
  testAccuracy?: number;
}

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
  if (c.tracking?.preconditioned && !['adagrad', 'rmsprop', 'adam', 'adadelta'].includes(c.optimizer.name)) {
    throw new RangeError(`tracking.preconditioned needs an adaptive optimizer (adagrad, rmsprop, adam, adadelta), not ${c.optimizer.name}: its critical rate is the batch NTK's, tracked by tracking.batch`);
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

/**
 * The AGOP of a reference network (a checkpoint written by Trainer.checkpoint) on the first n training
 * examples: G* for AGOP alignment on real data, where no true EGOP exists.
 */
async function referenceAgop(gpu: Gpu, path: string, data: RunData, n: number, readFile: ReadFile): Promise<Float64Array> {
  if (typeof path !== 'string' || path === '') throw new RangeError('tracking.agop.reference must be the path or URL of a checkpoint (.safetensors)');
  const saved = decodeCheckpoint(await readFile(path));
  const { d, k, x } = data.train;
  const net = networkOf(gpu, await loadModel(saved.config.model, exampleShape(data.train), k, readFile), exampleShape(data.train), k, 0);
  try {
    gpu.write(net.params, checkpointParams(saved, net.layout));
    const X = gpu.matrix('reference AGOP inputs', n, d, x.subarray(0, n * d));
    const agop = new NetworkAgop(gpu, net, n);
    const G = await agop.compute(X);
    agop.destroy();
    X.buffer.destroy();
    return G;
  } catch (e) {
    throw new RangeError(`tracking.agop.reference ${path}: ${(e as Error).message}`);
  } finally {
    net.destroy();
  }
}

/**
 * A network whose tracked NTK is zero (or NaN from normalizing a zero vector) has no gradient left: every
 * ReLU is dead. Its loss stays finite forever, but the run has diverged in all but name.
 */
const collapsed = (r: StepRecord) => r.lambda !== undefined && !(r.lambda > 0) && Number.isFinite(r.loss);

/** Rows evaluated per forward pass, so a 10,000-example evaluation does not need 10,000-row buffers. */
const EVAL_CHUNK = 2048;

interface GpuSet {
  data: Dataset;
  X: Matrix;
  Y: Matrix;
}

export class Trainer {
  readonly net: Graph;
  readonly losses: LossHeads;
  /** Examples per pass: config.microBatch, else as many as the network fits in one binding (Network.microBatch). */
  readonly passRows: number;
  /** Whether a batch is more than one pass takes: it then runs in micro-batches of passRows. */
  readonly microBatched: boolean;
  readonly optimizer: Optimizer;
  readonly batchSize: number;
  private readonly order: BatchOrder | null;
  private readonly metrics: GPUBuffer;
  private readonly evalOut: GPUBuffer;
  private readonly batchIndex: GPUBuffer;
  private readonly batches = new Map<number, { X: Matrix; Y: Matrix }>();
  private readonly sets: { train: GpuSet; val?: GpuSet; test?: GpuSet };
  readonly tracker: Tracker | null;
  /** The rate of a schedule that follows the live η_crit, computed on the GPU each step (else null). */
  private readonly liveRate: LiveRate | null;
  /** Updates made so far. */
  step = 0;
  /** What the schedule's rates are multiplied by (lrUnit), and the critical rate measured for it. */
  lrScale = 1;
  initialCriticalRate?: { unit: LrUnit; value: number; lambda?: number };

  private constructor(
    readonly gpu: Gpu,
    readonly config: TrainConfig,
    readonly data: RunData,
    /** The model's layers (and an imported model's weights), read with the data. */
    readonly model: ModelSource,
  ) {
    const seeds = partSeeds(config.seed);
    const train = data.train;
    this.net = networkOf(gpu, model, exampleShape(train), train.k, seeds.init);
    this.losses = new LossHeads(gpu, train.k);
    this.optimizer = new Optimizer(gpu, this.parameterSet(), config.optimizer);
    this.batchSize = config.batchSize === 'full' ? train.n : config.batchSize;
    if (this.batchSize > train.n) throw new RangeError(`batchSize ${this.batchSize} is larger than the training set (${train.n})`);
    this.order = this.batchSize === train.n ? null : new BatchOrder(train.n, this.batchSize, seeds.batches);
    if (config.microBatch !== undefined && config.microBatch > this.net.microBatch) {
      throw new RangeError(
        `microBatch ${config.microBatch} is more than this network fits in one pass on this device (${this.net.microBatch} examples within maxStorageBufferBindingSize, ${gpu.limits.maxStorageBufferBindingSize} bytes): use microBatch <= ${this.net.microBatch}`,
      );
    }
    this.passRows = config.microBatch ?? this.net.microBatch;
    this.microBatched = this.batchSize > this.passRows;
    for (const what of ['batch', 'hessian'] as const) {
      if (this.microBatched && config.tracking?.[what]) {
        const why = config.microBatch !== undefined ? `microBatch is ${config.microBatch}` : `this network takes at most ${this.net.microBatch} examples per pass within this device's maxStorageBufferBindingSize (${gpu.limits.maxStorageBufferBindingSize} bytes)`;
        throw new RangeError(`tracking.${what} needs each batch of ${this.batchSize} in one pass, but ${why}: use batchSize <= ${this.passRows}, or a narrower network`);
      }
    }
    const upload = (d: Dataset, name: string): GpuSet => ({
      data: d,
      X: gpu.matrix(`${name} inputs`, d.n, d.d, d.x, 'use fewer examples'),
      Y: gpu.matrix(`${name} targets`, d.n, d.k, d.y, 'use fewer examples'),
    });
    this.sets = {
      train: upload(train, 'train'),
      ...(data.val ? { val: upload(data.val, 'val') } : {}),
      ...(data.test ? { test: upload(data.test, 'test') } : {}),
    };
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    this.metrics = gpu.createBuffer({ label: 'step metrics', size: this.readbackEvery * METRIC_SLOTS * 4, usage });
    validateTracking(config.tracking, train.n);
    // A rate that follows the live η_crit needs the batch's λ_max on the GPU in the step: power iteration.
    const live = liveSchedule(config.schedule);
    const sum = this.optimizer.state('sum');
    this.liveRate = live ? new LiveRate(gpu, live, this.optimizer.rate) : null;
    this.tracker = config.tracking
      ? new Tracker(gpu, this.net, live?.of === 'batch' && (config.tracking.batch?.solver ?? 'auto') === 'auto' ? { ...config.tracking, batch: { ...config.tracking.batch, solver: 'power' } } : config.tracking, train, data.egop, config.tracking.adagrad && sum ? { sum, tensors: this.optimizer.tensors, initial: this.optimizer.hyper.initialAccumulatorValue } : null, this.sets.train.X, this.readbackEvery, this.optimizer)
      : null;
    const evalChunks = Math.max(...[train, data.val, data.test].map((d) => (d ? Math.ceil(d.n / this.evalChunk) : 0)));
    this.evalOut = gpu.createBuffer({ label: 'evaluation metrics', size: evalChunks * 2 * 4, usage });
    this.batchIndex = gpu.createBuffer({ label: 'batch indices', size: this.batchSize * 4, usage });
  }

  /** A validated config's data and model, checked against the loss, with a reference network's AGOP where asked. */
  private static async runData(gpu: Gpu, config: TrainConfig, readFile: ReadFile): Promise<[RunData, ModelSource]> {
    validateTrainConfig(config);
    const data = await buildData(config.data, partSeeds(config.seed).data, readFile);
    const model = await loadModel(config.model, exampleShape(data.train), data.train.k, readFile);
    if (config.loss === 'cross-entropy' && data.train.k < 2) {
      throw new RangeError('loss "cross-entropy" needs one-hot targets with k >= 2 classes; use "mse" for ±1 or scalar targets');
    }
    const reference = config.tracking?.agop?.reference;
    if (reference !== undefined) data.egop = await referenceAgop(gpu, reference, data, config.tracking!.set?.examples ?? 0, readFile);
    return [data, model];
  }

  /** A new run: its data read, its network built and, where rates are in units of it, η_crit(init) measured. onPhase hears each phase as it starts. */
  static async create(gpu: Gpu, config: TrainConfig, readFile: ReadFile, onPhase?: (phase: string) => void): Promise<Trainer> {
    onPhase?.('reading the data and building the network');
    const trainer = new Trainer(gpu, config, ...(await Trainer.runData(gpu, config, readFile)));
    if ((config.lrUnit ?? 'absolute') !== 'absolute') {
      onPhase?.('measuring η_crit at initialization (λ_max of the NTK by power iteration; the first use compiles its kernels)');
      try {
        await trainer.measureInitialCriticalRate();
      } catch (e) {
        trainer.destroy();
        throw e;
      }
    }
    return trainer;
  }

  /**
   * The run's state as safetensors (src/run/checkpoint.ts documents the names): parameters, optimizer
   * state, step, seed, tracking warm starts, and the config in the metadata.
   */
  async checkpoint(extraMetadata: Record<string, string> = {}): Promise<Uint8Array> {
    const params = await this.net.readParams();
    const state = await this.optimizer.exportState();
    const warm: Record<string, Float32Array> = {};
    for (const [name, m] of Object.entries(this.tracker?.warmStarts() ?? {})) warm[name] = await this.gpu.read(m.buffer);
    if (this.liveRate) warm[LIVE_RATE_STATE] = await this.gpu.read(this.liveRate.state);
    return encodeCheckpoint({ layout: this.net.layout, params, optimizer: state, step: this.step, seed: this.config.seed, warmStarts: warm, config: this.config, lrScale: this.lrScale, metadata: extraMetadata });
  }

  /** Continues a run from a checkpoint written by checkpoint(): the same config, state and batch order. */
  static async resume(gpu: Gpu, file: Uint8Array, readFile: ReadFile): Promise<Trainer> {
    const saved = decodeCheckpoint(file);
    const config = saved.config;
    // The checkpoint's config is input like any other: checked before any data is read for it.
    try {
      validateTrainConfig(config);
    } catch (e) {
      throw new RangeError(`checkpoint: its config is not valid: ${(e as Error).message}`);
    }
    const trainer = new Trainer(gpu, config, ...(await Trainer.runData(gpu, config, readFile)));
    try {
      const params = checkpointParams(saved, trainer.net.layout);
      gpu.write(trainer.net.params, params);
      trainer.optimizer.importState(checkpointOptimizer(saved, trainer.net.layout, trainer.optimizer));
      const { [LIVE_RATE_STATE]: liveState, ...warmStarts } = saved.warmStarts;
      if (trainer.liveRate && !liveState) throw new RangeError(`checkpoint: the run's rate follows the live η_crit, and the checkpoint has no "${LIVE_RATE_STATE}" state`);
      if (liveState) {
        if (!trainer.liveRate || liveState.length !== 4) throw new RangeError(`checkpoint has a "${LIVE_RATE_STATE}" state that this run's schedule does not use`);
        gpu.write(trainer.liveRate.state, liveState);
      }
      trainer.tracker?.restoreWarmStarts(warmStarts);
      trainer.lrScale = saved.lrScale;
      if (config.lrUnit && config.lrUnit !== 'absolute') trainer.initialCriticalRate = { unit: config.lrUnit, value: saved.lrScale };
      // The batch order is a pure function of the seed: replay the draws of the steps already made.
      for (let t = 0; t < saved.step; t++) trainer.order?.next();
      trainer.step = saved.step;
    } catch (e) {
      trainer.destroy();
      throw e;
    }
    return trainer;
  }

  /** The learning rate of step t, in absolute units. */
  lr(t: number): number {
    return learningRate(this.config.schedule, t) * this.lrScale;
  }

  /** Measures η_crit at initialization for lrUnit and sets lrScale. */
  private async measureInitialCriticalRate(): Promise<void> {
    const unit = this.config.lrUnit!;
    const { n, k } = this.sets.train.data;
    const X = this.sets.train.X;
    const nk = n * k;
    if (unit === 'eta-crit') {
      const formed = nk <= 4096;
      const K = formed ? this.gpu.matrix('initial NTK', nk, nk) : null;
      const gram = new NtkGram(this.gpu, this.net);
      const op = K ? null : new MatrixFreeNtk(this.gpu, this.net, X);
      if (K) {
        const step = this.gpu.step('initial NTK');
        await gram.form(step, X, K);
        this.gpu.submit(step);
      }
      const power = new PowerIteration(this.gpu, nk, 11);
      const r = await power.run(K ?? op!, { tolerance: 1e-5, maxIterations: 300 });
      this.tracker?.adoptSetVector(power.v, n);
      await this.gpu.done();
      for (const x of [gram, op, power]) x?.destroy();
      K?.buffer.destroy();
      this.lrScale = n / r.lambda;
      this.initialCriticalRate = { unit, value: this.lrScale, lambda: r.lambda };
    } else {
      if (nk > 4096) throw new RangeError(`lrUnit "example-eta-crit" forms the training set's NTK: n·k = ${nk} must be at most 4096`);
      const gram = new NtkGram(this.gpu, this.net);
      const values = await gram.formed(X);
      gram.destroy();
      // The single-example NTK of example i is the k×k block of its outputs; its λ_max is at least the
      // largest diagonal entry, which for k = 1 is all of it.
      const rates = Array.from({ length: n }, (_, i) => {
        let top = 0;
        for (let a = 0; a < k; a++) top = Math.max(top, values[(a * n + i) * nk + a * n + i]);
        return 1 / top;
      }).sort((p, q) => p - q);
      this.lrScale = rates[Math.floor(n / 2)];
      this.initialCriticalRate = { unit, value: this.lrScale };
    }
    if (!(this.lrScale > 0 && Number.isFinite(this.lrScale))) throw new RangeError(`the critical rate at initialization is ${this.lrScale}: the network's NTK is zero or not finite`);
  }

  get readbackEvery(): number {
    return this.config.readbackEvery ?? 25;
  }

  /** Trains until the step budget, the stopping rule, divergence, a lost device or shouldStop. */
  async run(callbacks: RunCallbacks = {}): Promise<RunResult> {
    const records: StepRecord[] = [];
    const evals: EvalRecord[] = [];
    const c = this.config;
    const divergeAbove = c.divergeAbove ?? 1e8;
    const evalEvery = c.evalEvery ?? 0;
    const end = (status: RunStatus, message?: string): RunResult => ({ status, steps: this.step, records, evals, ...(message ? { message } : {}) });
    try {
      let pending = 0;
      const flush = async (): Promise<RunStatus | null> => {
        if (pending === 0) return null;
        const values = await this.gpu.read(this.metrics, 0, pending * METRIC_SLOTS * 4);
        await this.tracker?.collect();
        const fresh: StepRecord[] = [];
        for (let i = 0; i < pending; i++) {
          const t = this.step - pending + i;
          const b = this.batchRows(t);
          const row = i * METRIC_SLOTS;
          const r: StepRecord = { step: t, lr: this.liveRate ? values[row + SLOT.lr] : this.lr(t), loss: values[row + SLOT.loss] / b };
          if (c.loss === 'cross-entropy') r.accuracy = values[row + SLOT.correct] / b;
          if (this.tracker) Object.assign(r, this.tracker.read(values, i, t, b, r.lr));
          fresh.push(r);
        }
        pending = 0;
        records.push(...fresh);
        callbacks.onMetrics?.(fresh, []);
        const bad = fresh.find((r) => !Number.isFinite(r.loss) || r.loss > divergeAbove || collapsed(r));
        if (bad) return 'diverged';
        if (c.stopAtLoss !== undefined && this.order === null && fresh.some((r) => r.loss < c.stopAtLoss!)) return 'converged';
        return null;
      };
      const evaluate = async (): Promise<RunStatus | null> => {
        const e = await this.evaluate();
        evals.push(e);
        callbacks.onMetrics?.([], [e]);
        if (!Number.isFinite(e.trainLoss) || e.trainLoss > divergeAbove) return 'diverged';
        if (c.stopAtLoss !== undefined && e.trainLoss < c.stopAtLoss) return 'converged';
        return null;
      };

      while (this.step < c.steps) {
        if (callbacks.shouldStop?.()) {
          await flush();
          return end('stopped', `stopped after ${this.step} steps`);
        }
        const hold = callbacks.hold?.();
        if (hold) {
          const status = await flush();
          if (status) return end(status, this.why(status, records, evals));
          await hold;
          if (callbacks.shouldStop?.()) return end('stopped', `stopped after ${this.step} steps`);
        }
        await callbacks.atStep?.(this.step);
        if (evalEvery > 0 && this.step % evalEvery === 0) {
          const status = (await flush()) ?? (await evaluate());
          if (status) return end(status, this.why(status, records, evals));
        }
        // Lanczos reads back: at its steps it runs first, at the parameters the training step will see.
        if (this.tracker?.analysisDue(this.step)) await this.tracker.analyze(this.step);
        await this.trainStep(pending);
        pending++;
        if (pending === this.readbackEvery || this.step === c.steps) {
          const status = await flush();
          if (status) return end(status, this.why(status, records, evals));
        }
      }
      await callbacks.atStep?.(this.step);
      const status = await evaluate();
      return end(status ?? 'completed', status ? this.why(status, records, evals) : undefined);
    } catch (e) {
      if (e instanceof DeviceLostError) return end('lost', e.message);
      // Work on a lost device can fail in other ways first (a rejected map, a destroyed buffer).
      const lost = await this.gpu.lostError();
      if (lost) return end('lost', lost.message);
      throw e;
    }
  }

  /**
   * Records and submits one training step without reading anything back; its loss goes to row `row`
   * (< readbackEvery) of the metrics buffer. run() drives it; benchmarks call it to time bare steps.
   */
  async trainStep(row: number): Promise<void> {
    if (!(row >= 0 && row < this.readbackEvery)) throw new RangeError(`metrics row must be in 0..${this.readbackEvery - 1}, got ${row}`);
    const t = this.step;
    const step = this.gpu.step(`train step ${t}`);
    let X = this.sets.train.X;
    let Y = this.sets.train.Y;
    if (this.order) {
      const index = this.order.next();
      const batch = this.batchMatrices(index.length);
      this.gpu.write(this.batchIndex, index);
      await gather(step, this.sets.train.X, this.batchIndex, batch.X);
      await gather(step, this.sets.train.Y, this.batchIndex, batch.Y);
      ({ X, Y } = batch);
    }
    const base = row * METRIC_SLOTS;
    const tape = this.microBatched ? await this.microBatches(step, X, Y, base) : await this.lossAndGradients(step, X, Y, this.metrics, base + SLOT.loss, base + SLOT.correct, X.rows);
    // Tracking sees the parameters this step's loss was measured at: it runs before the update.
    await this.tracker?.record(step, t, tape, Y, this.metrics, row, this.order ? this.batchIndex : null);
    if (this.liveRate) {
      const live = this.liveRate.schedule;
      const tracked = live.of === 'set' ? this.config.tracking!.set! : this.config.tracking!.batch!;
      const n = live.of === 'set' ? this.config.tracking!.set!.examples : X.rows;
      await this.liveRate.record(step, t, this.metrics, base + (live.of === 'set' ? SLOT.lambdaSet : SLOT.lambdaBatch), base + SLOT.lr, n, t % (tracked.every ?? 1) === 0);
    }
    await this.optimizer.record(step, this.liveRate ? 1 : this.lr(t));
    this.gpu.submit(step);
    this.step++;
  }

  /**
   * Forward, loss (sums into out[lossSlot] and, for cross-entropy, the number correct into out[correctSlot]) and
   * backward of the rows X, Y of a batch of `batch` examples, the gradients into `into`. Returns the tape.
   */
  private async lossAndGradients(step: Step, X: Matrix, Y: Matrix, out: GPUBuffer, lossSlot: number, correctSlot: number, batch: number, into?: GPUBuffer): Promise<Tape> {
    const tape = await this.net.forward(step, X);
    const { seed } =
      this.config.loss === 'mse'
        ? await this.losses.mse(step, tape.output, Y, out, lossSlot, batch)
        : await this.losses.crossEntropy(step, tape.output, Y, out, lossSlot, correctSlot, batch);
    await this.net.backward(step, tape, seed, into ? { into } : {});
    return tape;
  }

  /**
   * A batch wider than one pass, in micro-batches of passRows rows: each one's loss seed divides by
   * the whole batch, its gradients go to a scratch buffer and are added to the first's in order, and the
   * micro-batches' losses are summed into the step's slots. Returns the last micro-batch's tape.
   */
  private async microBatches(step: Step, X: Matrix, Y: Matrix, base: number): Promise<Tape> {
    const m = this.passRows;
    const parts = Math.ceil(X.rows / m);
    const sums = step.scratch(2 * parts * 4);
    const scratchGrads = step.scratch(this.net.layout.size * 4);
    await step.host.prepare([addInPlace]);
    let tape: Tape | null = null;
    for (let c = 0; c < parts; c++) {
      const from = c * m;
      const rows = Math.min(m, X.rows - from);
      tape = await this.lossAndGradients(step, this.rowsOf(step, X, from, rows, 'micro X'), this.rowsOf(step, Y, from, rows, 'micro Y'), sums, c, parts + c, X.rows, c === 0 ? undefined : scratchGrads);
      if (c > 0) step.dispatch(addInPlace, [this.net.paramVector(scratchGrads), this.net.paramVector(this.net.grads)], { count: this.net.layout.size });
    }
    await reduce(step, 'sum', new GpuMatrix(sums, parts, 1), null, this.metrics, base + SLOT.loss);
    if (this.config.loss === 'cross-entropy') await reduce(step, 'sum', new GpuMatrix(sums, parts, 1, parts * 4), null, this.metrics, base + SLOT.correct);
    return tape!;
  }

  /** Rows per evaluation pass: at most EVAL_CHUNK, and what one pass of the network takes. */
  private get evalChunk(): number {
    return Math.min(EVAL_CHUNK, this.passRows);
  }

  /** Rows in the batch of step t (the last batch of an epoch can be smaller). */
  private batchRows(t: number): number {
    if (!this.order) return this.batchSize;
    const n = this.sets.train.data.n;
    const perEpoch = Math.ceil(n / this.batchSize);
    const k = t % perEpoch;
    return k === perEpoch - 1 ? n - k * this.batchSize : this.batchSize;
  }

  private batchMatrices(rows: number): { X: Matrix; Y: Matrix } {
    let m = this.batches.get(rows);
    if (!m) {
      const d = this.sets.train.data;
      m = { X: this.gpu.matrix(`batch inputs (${rows})`, rows, d.d), Y: this.gpu.matrix(`batch targets (${rows})`, rows, d.k) };
      this.batches.set(rows, m);
    }
    return m;
  }

  /** Loss (and accuracy) of the current parameters on each data set. */
  async evaluate(): Promise<EvalRecord> {
    const out: EvalRecord = { step: this.step, trainLoss: NaN };
    for (const name of ['train', 'val', 'test'] as const) {
      const set = this.sets[name];
      if (!set) continue;
      const { loss, accuracy } = await this.evaluateSet(set);
      out[`${name}Loss`] = loss;
      if (accuracy !== undefined) out[`${name}Accuracy`] = accuracy;
    }
    return out;
  }

  private async evaluateSet(set: GpuSet): Promise<{ loss: number; accuracy?: number }> {
    const n = set.data.n;
    const chunk = this.evalChunk;
    const chunks = Math.ceil(n / chunk);
    // MSE on class targets (±1, one-hot) has an accuracy too; regression targets (the synthetic tasks) have none.
    const classes = set.data.labels !== undefined;
    const step = this.gpu.step('evaluate');
    for (let ci = 0; ci < chunks; ci++) {
      const from = ci * chunk;
      const rows = Math.min(chunk, n - from);
      // Chunks are copied out (a view at an arbitrary row would break the 256-byte binding alignment).
      const X = this.rowsOf(step, set.X, from, rows, 'X');
      const Y = this.rowsOf(step, set.Y, from, rows, 'Y');
      const { output } = await this.net.forward(step, X);
      if (this.config.loss === 'mse') {
        await this.losses.mse(step, output, Y, this.evalOut, 2 * ci);
        if (classes) await this.losses.correct(step, output, Y, this.evalOut, 2 * ci + 1);
      } else await this.losses.crossEntropy(step, output, Y, this.evalOut, 2 * ci, 2 * ci + 1);
    }
    this.gpu.submit(step);
    const v = await this.gpu.read(this.evalOut, 0, chunks * 2 * 4);
    let loss = 0;
    let correct = 0;
    for (let ci = 0; ci < chunks; ci++) {
      loss += v[2 * ci];
      correct += v[2 * ci + 1];
    }
    return this.config.loss === 'mse' && !classes ? { loss: loss / n } : { loss: loss / n, accuracy: correct / n };
  }

  private readonly chunkCopies = new Map<string, Matrix>();

  private rowsOf(step: Step, M: Matrix, from: number, rows: number, tag: string): Matrix {
    if (from === 0 && rows === M.rows) return M;
    const key = `${M.label}:${rows}:${tag}`;
    let copy = this.chunkCopies.get(key);
    if (!copy) this.chunkCopies.set(key, (copy = this.gpu.matrix(`${M.label} rows (${rows})`, rows, M.cols)));
    step.copy(M.buffer, copy.buffer, rows * M.cols * 4, M.offset + from * M.cols * 4, 0);
    return copy;
  }

  private why(status: RunStatus, records: StepRecord[], evals: EvalRecord[]): string {
    if (status === 'diverged') {
      const dead = records.find(collapsed);
      const bad = records.find((r) => !Number.isFinite(r.loss) || r.loss > (this.config.divergeAbove ?? 1e8));
      if (dead && (!bad || dead.step < bad.step)) return `the tracked NTK vanished at step ${dead.step} (λ_max ${dead.lambda}): every ReLU is dead, so no step can move the network again (lr ${dead.lr})`;
      return bad ? `loss ${bad.loss} at step ${bad.step} (lr ${bad.lr})` : `training loss ${evals[evals.length - 1]?.trainLoss} at evaluation`;
    }
    if (status === 'converged') return `training loss below ${this.config.stopAtLoss} after ${this.step} steps`;
    return '';
  }

  private parameterSet() {
    const layout = this.net.layout;
    const tensors = layout.tensors.filter((t) => !t.frozen).map((t) => ({ offset: t.offset, count: t.count }));
    return { params: this.net.params, grads: this.net.grads, size: layout.size, tensors };
  }

  destroy(): void {
    this.tracker?.destroy();
    this.liveRate?.destroy();
    this.net.destroy();
    this.losses.destroy();
    this.optimizer.destroy();
    for (const b of [this.metrics, this.evalOut, this.batchIndex]) b.destroy();
    for (const s of Object.values(this.sets)) {
      s.X.buffer.destroy();
      s.Y.buffer.destroy();
    }
    for (const m of this.batches.values()) {
      m.X.buffer.destroy();
      m.Y.buffer.destroy();
    }
    for (const m of this.chunkCopies.values()) m.buffer.destroy();
  }
}
