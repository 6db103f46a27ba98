// The training loop: a config in, per-step and evaluation metrics out. Each step is one command encoder
// (gather the batch on the GPU, forward, loss, backward, the tracker's probes, optimizer update); the step's
// loss goes into a metrics buffer on the GPU, read back every `readbackEvery` steps, when the run checks
// divergence and its stopping rule. Nothing else is read back on the way.
import { exampleShape, type Dataset } from '../data/dataset.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { Matrix } from '../gpu/matrix.ts';
import type { Step } from '../gpu/step.ts';
import type { Graph } from '../nn/graph.ts';
import { LossHeads } from '../nn/loss.ts';
import type { Tape } from '../nn/network.ts';
import { Optimizer } from '../optim/optimizer.ts';
import { learningRate, liveSchedule } from '../optim/schedules.ts';
import { LiveRate } from '../optim/live-rate.ts';
import type { EvalRecord } from '../track/record.ts';
import type { StepRecord } from '../track/registry.ts';
import { Tracker } from '../track/tracker.ts';
import { checkpointOptimizer, checkpointParams, decodeCheckpoint, encodeCheckpoint } from './checkpoint.ts';
import { buildData, type ReadFile, type RunData } from './data.ts';
import { Evaluator, type GpuSet } from './evaluation.ts';
import { initialCriticalRate, type InitialRate } from './initial-rate.ts';
import { loadModel, networkOf, type ModelSource } from './model-source.ts';
import { referenceAgop } from './reference-agop.ts';
import { RowCopies } from '../gpu/row-copies.ts';
import type { RunCallbacks, RunResult } from './run-result.ts';
import { runLoop } from './run-loop.ts';
import { Batches } from './batches.ts';
import { BatchGradients } from './gradients.ts';
import { partSeeds, validateTrainConfig, type TrainConfig } from './train-config.ts';

export { LR_UNITS, partSeeds, validateTrainConfig, type LossName, type LrUnit, type ModelConfig, type TrainConfig } from './train-config.ts';
export type { RunCallbacks, RunResult, RunStatus } from './run-result.ts';
export type { EvalRecord, StepRecord };

/** The checkpoint's name for the live rate's state (beside the tracker's warm starts). */
const LIVE_RATE_STATE = 'live-rate';

/** The runner's slots of a step's metrics row; the tracker's probes get the slots after them. */
const SLOT = { loss: 0, correct: 1, lr: 2 } as const;
const RUNNER_SLOTS = 3;

export class Trainer {
  readonly net: Graph;
  readonly losses: LossHeads;
  /** Examples per pass: config.microBatch, else as many as the network fits in one binding (Network.microBatch). */
  readonly passRows: number;
  /** Whether a batch is more than one pass takes: it then runs in micro-batches of passRows. */
  readonly microBatched: boolean;
  readonly optimizer: Optimizer;
  readonly tracker: Tracker | null;
  private readonly batches: Batches;
  private readonly gradients: BatchGradients;
  private readonly rowWidth: number;
  private readonly metrics: GPUBuffer;
  private readonly sets: { train: GpuSet; val?: GpuSet; test?: GpuSet };
  private readonly rows: RowCopies;
  private readonly evaluator: Evaluator;
  /** The rate of a schedule that follows the live η_crit, computed on the GPU each step (else null). */
  private readonly liveRate: LiveRate | null;
  /** Updates made so far. */
  step = 0;
  /** What the schedule's rates are multiplied by (lrUnit), and the critical rate measured for it. */
  lrScale = 1;
  initialCriticalRate?: InitialRate;

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
    if (config.microBatch !== undefined && config.microBatch > this.net.microBatch) {
      throw new RangeError(
        `microBatch ${config.microBatch} is more than this network fits in one pass on this device (${this.net.microBatch} examples within maxStorageBufferBindingSize, ${gpu.limits.maxStorageBufferBindingSize} bytes): use microBatch <= ${this.net.microBatch}`,
      );
    }
    const upload = (d: Dataset, name: string): GpuSet => ({ data: d, X: gpu.matrix(`${name} inputs`, d.n, d.d, d.x, 'use fewer examples'), Y: gpu.matrix(`${name} targets`, d.n, d.k, d.y, 'use fewer examples') });
    this.sets = { train: upload(train, 'train'), ...(data.val ? { val: upload(data.val, 'val') } : {}), ...(data.test ? { test: upload(data.test, 'test') } : {}) };
    this.batches = new Batches(gpu, this.sets.train.X, this.sets.train.Y, config.batchSize === 'full' ? train.n : config.batchSize, seeds.batches);
    this.passRows = config.microBatch ?? this.net.microBatch;
    this.microBatched = this.batches.size > this.passRows;
    const live = liveSchedule(config.schedule);
    this.liveRate = live ? new LiveRate(gpu, live, this.optimizer.rate) : null;
    const onePass = !this.microBatched ? null : config.microBatch !== undefined ? `microBatch is ${config.microBatch}` : `this network takes at most ${this.net.microBatch} examples per pass within this device's maxStorageBufferBindingSize (${gpu.limits.maxStorageBufferBindingSize} bytes)`;
    this.tracker = config.tracking
      ? new Tracker(gpu, this.net, config.tracking, {
          data: train,
          trainInputs: this.sets.train.X,
          trainTargets: this.sets.train.Y,
          loss: config.loss,
          passRows: this.passRows,
          optimizer: this.optimizer,
          egop: data.egop,
          metricRows: this.readbackEvery,
          firstSlot: RUNNER_SLOTS,
          fullBatch: this.batches.full && !this.microBatched,
          notOnePass: onePass && `needs each batch of ${this.batches.size} in one pass, but ${onePass}: use batchSize <= ${this.passRows}, or a narrower network`,
          liveBatchRate: live?.of === 'batch',
        })
      : null;
    this.rowWidth = this.tracker?.rowWidth ?? RUNNER_SLOTS;
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    this.metrics = gpu.createBuffer({ label: 'step metrics', size: this.readbackEvery * this.rowWidth * 4, usage });
    this.rows = new RowCopies(gpu);
    this.gradients = new BatchGradients(this.net, this.losses, config.loss, this.passRows, this.rows);
    this.evaluator = new Evaluator(gpu, this.net, this.losses, config.loss, this.sets, this.rows, this.passRows);
  }

  /** A validated config's data and model, checked against the loss, with a reference network's AGOP where asked. */
  private static async runData(gpu: Gpu, config: TrainConfig, readFile: ReadFile): Promise<[RunData, ModelSource]> {
    validateTrainConfig(config);
    const data = await buildData(config.data, partSeeds(config.seed).data, readFile);
    const model = await loadModel(config.model, exampleShape(data.train), data.train.k, readFile);
    if (config.loss === 'cross-entropy' && data.train.k < 2) throw new RangeError('loss "cross-entropy" needs one-hot targets with k >= 2 classes; use "mse" for ±1 or scalar targets');
    const reference = config.tracking?.agop?.reference;
    if (reference !== undefined) data.egop = await referenceAgop(gpu, reference, data, config.tracking!.set?.examples ?? 0, readFile);
    return [data, model];
  }

  /** A new run: its data read, its network built and, where rates are in units of it, η_crit(init) measured. onPhase hears each phase as it starts. */
  static async create(gpu: Gpu, config: TrainConfig, readFile: ReadFile, onPhase?: (phase: string) => void): Promise<Trainer> {
    onPhase?.('reading the data and building the network');
    const trainer = new Trainer(gpu, config, ...(await Trainer.runData(gpu, config, readFile)));
    const unit = config.lrUnit ?? 'absolute';
    if (unit !== 'absolute') {
      onPhase?.('measuring η_crit at initialization (λ_max of the NTK by power iteration; the first use compiles its kernels)');
      try {
        // The training set's top eigenvector warm-starts the tracked set's power iteration where the set is all of it.
        const wholeSet = config.tracking?.set?.examples === trainer.sets.train.data.n;
        trainer.initialCriticalRate = await initialCriticalRate(gpu, trainer.net, trainer.sets.train.X, unit, (v) => wholeSet && trainer.tracker?.adoptWarmStart('set', v));
        trainer.lrScale = trainer.initialCriticalRate.value;
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
      gpu.write(trainer.net.params, checkpointParams(saved, trainer.net.layout));
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
      trainer.batches.skip(saved.step);
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

  get readbackEvery(): number {
    return this.config.readbackEvery ?? 25;
  }

  /** Trains until the step budget, the stopping rule, divergence, a lost device or shouldStop (src/run/run-loop.ts). */
  run(callbacks: RunCallbacks = {}): Promise<RunResult> {
    return runLoop(this, callbacks);
  }

  /** Whether every step's batch is the whole training set (its batch loss is then the training loss). */
  get fullBatch(): boolean {
    return this.batches.full;
  }

  /** The records of the last `pending` steps, from the metrics buffer and what the probes staged. */
  async readBack(pending: number): Promise<StepRecord[]> {
    const values = await this.gpu.read(this.metrics, 0, pending * this.rowWidth * 4);
    await this.tracker?.collect();
    return Array.from({ length: pending }, (_, i) => {
      const t = this.step - pending + i;
      const b = this.batches.rows(t);
      const at = (slot: number) => values[i * this.rowWidth + slot];
      const r: StepRecord = { step: t, lr: this.liveRate ? at(SLOT.lr) : this.lr(t), loss: at(SLOT.loss) / b };
      if (this.config.loss === 'cross-entropy') r.accuracy = at(SLOT.correct) / b;
      return this.tracker ? Object.assign(r, this.tracker.read(values, i, t, b, r.lr)) : r;
    });
  }

  /**
   * Records and submits one training step without reading anything back; its loss goes to row `row`
   * (< readbackEvery) of the metrics buffer. run() drives it; benchmarks call it to time bare steps.
   */
  async trainStep(row: number): Promise<void> {
    if (!(row >= 0 && row < this.readbackEvery)) throw new RangeError(`metrics row must be in 0..${this.readbackEvery - 1}, got ${row}`);
    const t = this.step;
    const step = this.gpu.step(`train step ${t}`);
    const { X, Y, index } = await this.batches.next(step);
    const base = row * this.rowWidth;
    const tape = await this.gradients.record(step, X, Y, this.metrics, base + SLOT.loss, base + SLOT.correct);
    // Tracking sees the parameters this step's loss was measured at: it runs before the update.
    await this.tracker?.record(step, t, tape, Y, this.metrics, row, index);
    if (this.liveRate) {
      const of = this.liveRate.schedule.of;
      const tracked = this.config.tracking![of]!;
      const n = of === 'set' ? this.config.tracking!.set!.examples : X.rows;
      await this.liveRate.record(step, t, this.metrics, base + this.tracker!.slot(of, 'lambda'), base + SLOT.lr, n, t % (tracked.every ?? 1) === 0);
    }
    await this.optimizer.record(step, this.liveRate ? 1 : this.lr(t));
    await this.tracker?.recordAfter(step, t, X, Y, this.metrics, row);
    this.gpu.submit(step);
    this.step++;
  }

  /** Loss (and accuracy) of the current parameters on each data set. */
  evaluate(): Promise<EvalRecord> {
    return this.evaluator.evaluate(this.step);
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
    this.evaluator.destroy();
    this.rows.destroy();
    this.metrics.destroy();
    this.batches.destroy();
    for (const s of Object.values(this.sets)) for (const m of [s.X, s.Y]) m.buffer.destroy();
  }
}
