// Spectral tracking during training, recorded into the training step's own encoder (before the update, so
// every quantity belongs to the parameters the step's loss was measured at) and written to the step's row
// of the metrics buffer: nothing is read back beyond the runner's periodic readback.
//   batch: λ_max of the batch's NTK, hence η_crit(batch) = b / λ_max (scalar output; nk·… for k outputs,
//          the convention is η_crit = n/λ_max(K) with n examples);
//   set:   λ_max of a fixed set's NTK (the first `examples` training examples) and the split of that set's
//          loss into its top eigendirection and the rest: L≤1 = (1/n)(u₁ᵀ r)², L>1 = L − L≤1 (paper eq. 2);
//   agop:  the alignment cos(G, G*) of the network's AGOP on the set with the task's true EGOP (or a
//          reference network's AGOP, for real data);
//   hessian: λ_max of the batch loss's Hessian (exact Hessian-vector products), hence 2/λ_max(H) beside
//          η_crit(batch);
//   spectrum: the set's top-s eigenvalues by Lanczos, λ_min and the condition number, and L≤s / L>s;
//   preconditioned: λ_max of the batch's J·P·Jᵀ for an adaptive optimizer's preconditioner P, hence its
//          critical rate b/λ_max(J·P·Jᵀ) (src/ntk/preconditioned.ts).
// λ comes from a fixed number of warm-started power iterations per tracked step (`iterations`; at least
// 100 at the first, cold one), each recorded with its relative residual ‖Kv − λv‖/λ, so a value that
// has not converged says so; the batch's λ_max is instead solved exactly on the host where its kernel is
// small (src/ntk/exact-batch.ts). The spectrum is Lanczos: for a small formed kernel, on the host in float64,
// from K copied out in the training step and read back with the metrics (src/ntk/set-spectrum.ts); otherwise
// on the GPU in steps of its own before the training step it belongs to (analyze), the one tracked quantity
// that waits for a readback. In full-batch GD on the whole training set, the set's NTK is formed from the
// step's own forward pass.
import { transpose } from '../../shaders/transpose.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { Matrix } from '../gpu/matrix.ts';
import { MIN_IDENTITY, gatherSquare, matmul, reduce } from '../gpu/ops.ts';
import type { Step } from '../gpu/step.ts';
import { LossHeads } from '../nn/loss.ts';
import type { Network, Tape } from '../nn/network.ts';
import { checkConfigPart, trackingSchema } from '../config/schema.ts';
import { NetworkAgop } from './agop.ts';
import { NtkGram } from './gram.ts';
import { BatchHessian } from './hessian.ts';
import { MatrixFreeNtk } from './matrix-free.ts';
import { matrixOperator, type SymmetricOperator } from './operator.ts';
import { chooseNtkMethod, formedRowsLimit, type NtkMethodChoice } from './method.ts';
import { Lanczos, PowerIteration } from './spectrum.ts';
import { EXACT_BATCH_MAX, ExactBatchEigen } from './exact-batch.ts';
import { PreconditionedBatch, type PreconditionedConfig } from './preconditioned.ts';
import { StagedSpectrum, spectrumRecord, type SpectrumRecord } from './set-spectrum.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import type { AdapterClass } from '../gpu/gpu.ts';

/**
 * Formed kernels up to this dimension nk get their spectrum on the host: a copy of K read back with the
 * metrics and a float64 Lanczos cost less than the GPU recurrence's ~10 dispatches per step, whose launch
 * overhead dominates at these sizes; above it the GPU recurrence wins. Measured with K read back before the
 * step (bench/RESULTS.md, "Dispatch cost": 40 steps on lavapipe took 20 against 87 ms at 128, 83 against 84
 * at 512, 276 against 205 at 1024; SwiftShader's host still won at 1024); staged, the host has no readback
 * wait of its own. The GPU figure is a guess until a GPU is measured.
 */
const HOST_SPECTRUM_MAX: Record<AdapterClass, number> = { gpu: 256, lavapipe: 512, swiftshader: 1024, software: 1024 };

/** Training sets up to this size keep their inputs' Gram (64 MiB at the limit) for the batch NTK. */
const INPUT_GRAM_MAX = 4096;

export interface TrackingConfig {
  /** λ_max and η_crit of each step's batch. */
  /**
   * λ_max and η_crit of each step's batch. method "structured" forms the batch's NTK, "matrix-free" iterates
   * on K·v = J(Jᵀv), "auto" (default) takes the cheaper for the batch size (src/ntk/method.ts): formed for
   * small batches, matrix-free for GD on thousands of examples.
   */
  batch?: { every?: number; iterations?: number; method?: NtkMethodChoice; solver?: BatchSolverChoice };
  /**
   * λ_max, L≤1 and L>1 on a fixed set of the first `examples` training examples. method "gram" forms the
   * set's NTK (structured where every layer has the formula, else by contracting per-example gradients),
   * "matrix-free" never forms it (K·v = J(Jᵀv), `chunk` examples per pass): for sets too large for an nk×nk
   * matrix, up to the whole training set. "auto" (default) takes the cheaper by the cost rule of
   * src/ntk/method.ts, counting the power iterations and the spectrum's Lanczos steps, and matrix-free when
   * K would not fit in one binding.
   */
  set?: { examples: number; every?: number; iterations?: number; method?: SetMethodChoice; chunk?: number };
  /**
   * AGOP alignment on the same set with the true EGOP (synthetic tasks) or, given `reference` (a
   * checkpoint file of a network on the same inputs), that network's AGOP on the set: the paper's
   * stand-in for G* on real data.
   */
  agop?: { every?: number; reference?: string };
  /** λ_max of the Hessian of the batch loss (MSE) by power iteration on exact Hessian-vector products. */
  hessian?: { every?: number; iterations?: number };
  /** The set's top `top` eigenvalues (≤ 10) by Lanczos with `iterations` steps, λ_min, the condition number, L≤s and L>s. */
  spectrum?: { top: number; every?: number; iterations?: number };
  /**
   * The student report's AdaGrad diagnostics: s_t = min over trainable parameters of sqrt(Σ_steps g²), the
   * largest effective rate η/s_t, and (with `set`) the bound s_t·n/λ_max(K) on AdaGrad's critical rate (the
   * report's 2·s_t/λ_max(H), with GD's critical rate 2/λ_max(H) = n/λ_max(K) in this lab's conventions).
   * The min is over parameters that have had a gradient (accumulator above its initial value): a weight
   * that never had one (an always-zero pixel of MNIST's border, a dead unit) has not moved and is no part
   * of the NTK, and counting it made s_t = 0 at every step on MNIST. Before any gradient, s_t is
   * sqrt(initial accumulator value).
   */
  adagrad?: { every?: number };
  /** λ_max of the batch's J·P·Jᵀ (P: the adaptive optimizer's preconditioner) and η_crit^P = b/λ_max. */
  preconditioned?: PreconditionedConfig;
  /** A tracked eigenvalue whose relative residual ‖Kv − λv‖/λ is above this is marked not converged (1e-3). */
  tolerance?: number;
}

export type BatchSolverChoice = 'auto' | 'exact' | 'power';

/**
 * The fewest power iterations at a cold start (the first tracked step, with no warm start restored or
 * adopted): from a random vector, 20 leave λ₂/λ₁ = 0.91 at 0.91²⁰ = 15 % of the start's weight; 100 at 8e-5.
 */
const COLD_START_ITERATIONS = 100;

/** What the tracker needs of the optimizer for the AdaGrad diagnostics. */
export interface AdagradState {
  sum: GPUBuffer;
  tensors: { offset: number; count: number }[];
  /** The accumulator's value before any gradient (AdaGrad's initialAccumulatorValue). */
  initial: number;
}

export const SET_METHOD_CHOICES = ['auto', 'gram', 'matrix-free'] as const;
export type SetMethodChoice = (typeof SET_METHOD_CHOICES)[number];

/** Slots of a step's metrics row: the runner's (loss, correct and, for a live rate, lr), then the tracker's. */
export const SLOT = { loss: 0, correct: 1, lambdaBatch: 2, lambdaSet: 3, setLoss: 4, topProjection: 5, agopDot: 6, agopNorm: 7, adagradMin: 8, lambdaHessian: 9, batchResidual: 10, setResidual: 11, hessianResidual: 12, lambdaPreconditioned: 13, preconditionedResidual: 14, lr: 15 } as const;
export const METRIC_SLOTS = 16;

/** Checks tracking against its schema (src/config/schema.ts), then what it needs of the rest and of the data. */
export function validateTracking(t: TrackingConfig | undefined, trainSize?: number): void {
  if (!t) return;
  checkConfigPart(trackingSchema, t, 'tracking');
  if (t.batch?.solver === 'exact' && t.batch.method === 'matrix-free') throw new RangeError('tracking.batch.solver "exact" solves the formed batch NTK, and tracking.batch.method "matrix-free" never forms it: use method "structured" or "auto", or solver "power"');
  if (t.spectrum && !t.set) throw new RangeError('tracking.spectrum needs tracking.set: it is the spectrum of the tracked set');
  if (t.agop && !t.set) throw new RangeError('tracking.agop needs tracking.set: the AGOP is measured on the tracked set');
  if (t.set && trainSize !== undefined && t.set.examples > trainSize) throw new RangeError(`tracking.set.examples ${t.set.examples} is more than the ${trainSize} training examples`);
}

const due = (t: number, every = 1) => t % every === 0;

export type TrackedField =
  | 'lambdaBatch'
  | 'etaCrit'
  | 'lambda'
  | 'setLoss'
  | 'lossTop'
  | 'lossRest'
  | 'alignment'
  | 'adagradS'
  | 'adagradRate'
  | 'adagradBound'
  | 'lambdaHessian'
  | 'etaCritHessian'
  | 'lambdaMin'
  | 'condition'
  | 'lossTopS'
  | 'lossRestS'
  | 'lambdaBatchResidual'
  | 'lambdaResidual'
  | 'lambdaHessianResidual'
  | 'lambdaMinResidual'
  | 'lambdaPreconditioned'
  | 'lambdaPreconditionedResidual'
  | 'etaCritPreconditioned';

interface BatchOperator {
  power: PowerIteration;
  /** Set where this batch size's λ_max is solved exactly on the host instead. */
  exact: ExactBatchEigen | null;
  /** The formed batch NTK, or null when the batch is tracked matrix-free. */
  K: Matrix | null;
  /** The matrix-free product over the batch's input matrix (which the trainer refills every step). */
  matrixFree: MatrixFreeNtk | null;
}

interface TrackedSet {
  X: Matrix;
  Y: Matrix;
  n: number;
  power: PowerIteration;
  /** The set's NTK ("gram") or null ("matrix-free", which has `operator`). */
  K: Matrix | null;
  operator: SymmetricOperator;
  matrixFree: MatrixFreeNtk | null;
  residual: Matrix;
  /** X·Xᵀ of the set's inputs, formed once, for the formed kernel's first layer (null: matrix-free, or frozen). */
  inputGram: Matrix | null;
}

export class Tracker {
  private readonly gram: NtkGram;
  /** Per batch size: its warm-started power iteration and its operator (a formed K, or matrix-free). */
  private readonly batchPower = new Map<number, BatchOperator>();
  private readonly set?: TrackedSet;
  private readonly agop?: { G: Matrix; Gstar: Matrix; normStar: number; network: NetworkAgop };
  private readonly hessian?: { op: BatchHessian; power: PowerIteration };
  private readonly lanczos?: Lanczos;
  /**
   * The spectrum of a small formed kernel: staged in the training step and solved on the host at the readback
   * (src/ntk/set-spectrum.ts). Otherwise it is a pre-step analysis, analyze(): Lanczos on the GPU.
   */
  private readonly stagedSpectrum: StagedSpectrum | null = null;
  private readonly analysisScalars?: GPUBuffer;
  /** Spectra found by analyze(), by step, until read() hands them to their step's record. */
  private readonly spectra = new Map<number, SpectrumRecord>();
  /** The step whose parameters set.K was last formed at by analyze(), which record() then reuses. */
  private formedAt = -1;
  private readonly losses: LossHeads;
  /**
   * X·Xᵀ of the whole training set, formed once: each batch's block of it is the first layer's input Gram in
   * the batch NTK (gathered by the batch's indices), where the set is small enough and the first layer trains.
   */
  private readonly trainGram: Matrix | null = null;
  private readonly preconditioned: PreconditionedBatch | null;

  constructor(
    private readonly gpu: Gpu,
    private readonly net: Network,
    readonly config: TrackingConfig,
    setData: { x: Float32Array; y: Float32Array; d: number; k: number } | null,
    egop: Float64Array | undefined,
    private readonly adagradState: AdagradState | null = null,
    /** The training set's inputs on the GPU, whose Gram the batch NTK's first layer reads blocks of. */
    private readonly trainInputs: Matrix | null = null,
    /** Rows of the runner's metrics buffer (steps between readbacks), for the exact batch solve's staging. */
    private readonly metricRows = 1,
    /** The run's optimizer, whose preconditioner tracking.preconditioned reads. */
    optimizer: Optimizer | null = null,
  ) {
    if (config.preconditioned && !optimizer) throw new RangeError('tracking.preconditioned needs the run\'s optimizer');
    this.preconditioned = config.preconditioned ? new PreconditionedBatch(gpu, net, optimizer!, config.preconditioned, metricRows) : null;
    if (config.adagrad && !adagradState) throw new RangeError('tracking.adagrad needs the optimizer "adagrad"');
    // Config errors before anything is recorded: a step left pending would outlive the device this error destroys.
    if (config.agop && !egop) throw new RangeError('tracking.agop needs a task with a known true EGOP (the synthetic tasks) or tracking.agop.reference, a reference network');
    if (config.hessian && !net.sites.some((l) => !l.frozen)) throw new RangeError('tracking.hessian: every layer is frozen');
    if (config.hessian && net.hessianUnsupported) throw new RangeError(`tracking.hessian: ${net.hessianUnsupported}; track the NTK's η_crit instead, or use a net without it`);
    this.gram = new NtkGram(gpu, net);
    this.losses = new LossHeads(gpu, net.outputs);
    const k = net.outputs;
    if (config.set && setData) {
      const n = config.set.examples;
      const nk = n * k;
      const X = gpu.matrix('tracked set inputs', n, setData.d, setData.x.subarray(0, n * setData.d));
      const method = this.setMethod(n);
      if (method === 'gram' && n > this.formedRows) {
        throw new RangeError(
          `tracking.set: forming the NTK of ${n} examples needs them in one pass, and this network on this device takes at most ${this.formedRows} (maxStorageBufferBindingSize ${gpu.limits.maxStorageBufferBindingSize} bytes): use tracking.set.method "matrix-free" (or "auto"), or tracking.set.examples <= ${this.formedRows}`,
        );
      }
      const matrixFree = method === 'matrix-free' ? new MatrixFreeNtk(gpu, net, X, { chunk: config.set.chunk }) : null;
      const K = matrixFree ? null : gpu.matrix('tracked set NTK', nk, nk, undefined, 'track fewer examples, or use tracking.set.method "matrix-free"');
      this.set = {
        X,
        Y: gpu.matrix('tracked set targets', n, k, setData.y.subarray(0, n * k)),
        n,
        power: new PowerIteration(gpu, nk, 1),
        K,
        operator: matrixFree ?? matrixOperator(K!),
        matrixFree,
        residual: gpu.matrix('tracked set residual (output-major)', nk, 1),
        inputGram: !matrixFree && this.firstLayerTrains ? gpu.matrix('tracked set input Gram', n, n, undefined, 'track fewer examples') : null,
      };
    }
    const trainRows = trainInputs?.rows ?? Infinity;
    if (config.batch && trainInputs && this.firstLayerTrains && trainRows <= INPUT_GRAM_MAX) {
      this.trainGram = gpu.matrix('training set input Gram', trainRows, trainRows);
    }
    const grams = this.gpu.step('input Grams');
    const forming: Promise<unknown>[] = [];
    if (this.set?.inputGram) forming.push(matmul(grams, this.set.X, this.set.X, this.set.inputGram, { transB: true }));
    if (this.trainGram) forming.push(matmul(grams, trainInputs!, trainInputs!, this.trainGram, { transB: true }));
    this.inputGramsRecorded = Promise.all(forming).then(() => this.gpu.submit(grams));
    if (config.agop) {
      const d = net.inputSize;
      let normStar = 0;
      for (const v of egop!) normStar += v * v;
      this.agop = {
        G: gpu.matrix('AGOP', d, d),
        Gstar: gpu.matrix('reference EGOP', d, d, Float32Array.from(egop!)),
        normStar: Math.sqrt(normStar),
        network: new NetworkAgop(gpu, net, config.set!.examples),
      };
    }
    if (config.hessian) {
      this.hessian = { op: new BatchHessian(gpu, net), power: new PowerIteration(gpu, net.layout.size, 3) };
    }
    if (config.spectrum && this.set) {
      const nk = this.set.n * k;
      if (this.set.K !== null && nk <= HOST_SPECTRUM_MAX[gpu.adapter.kind] && StagedSpectrum.fits(metricRows, nk)) {
        this.stagedSpectrum = new StagedSpectrum(gpu, metricRows, nk, this.set.n, { top: config.spectrum.top, iterations: this.lanczosSteps });
      } else {
        this.lanczos = new Lanczos(gpu, nk, this.lanczosSteps);
        this.analysisScalars = gpu.createBuffer({ label: 'spectrum scalars', size: 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      }
    }
  }

  /** How the tracked set's NTK is evaluated: as configured, or by the cost rule (power and Lanczos iterations). */
  private setMethod(n: number): 'gram' | 'matrix-free' {
    const choice = this.config.set?.method ?? 'auto';
    if (choice !== 'auto') return choice;
    const k = this.net.outputs;
    const iterations = (this.config.set?.iterations ?? 20) + (this.config.spectrum ? Math.min(this.config.spectrum.iterations ?? 60, n * k) : 0);
    const method = chooseNtkMethod({ sites: this.net.sites, n, k, iterations, inputGram: this.firstLayerTrains, maxBindingBytes: this.gpu.limits.maxStorageBufferBindingSize, formedRows: this.formedRows });
    return method === 'matrix-free' ? 'matrix-free' : 'gram';
  }

  /** The most examples whose NTK this device can form (one pass, each site's sensitivities in one binding). */
  private get formedRows(): number {
    return formedRowsLimit(this.net.sites, this.net.outputs, this.net.microBatch, this.gpu.limits.maxStorageBufferBindingSize);
  }

  /** Resolves once the input Grams are recorded and submitted (record() and analyze() wait for it). */
  private readonly inputGramsRecorded: Promise<void>;

  private get firstLayerTrains(): boolean {
    return this.net.sites.length > 0 && !this.net.sites[0].frozen;
  }

  /** Lanczos steps of the spectrum: its `iterations` (60 by default), at most the kernel's dimension. */
  private get lanczosSteps(): number {
    return Math.min(this.config.spectrum?.iterations ?? 60, (this.set?.n ?? 0) * this.net.outputs);
  }

  /** Whether the training loop must call analyze() before recording step t. */
  analysisDue(t: number): boolean {
    return Boolean(this.config.spectrum && this.set && !this.stagedSpectrum && due(t, this.config.spectrum.every));
  }

  /**
   * The pre-step analysis of step t, at the parameters the step will see: Lanczos on the tracked set's NTK
   * (formed, or matrix-free), its top s eigenvalues and smallest Ritz value, and the loss split L≤s / L>s.
   * It submits its own steps and reads back; read() adds the result to step t's record.
   */
  async analyze(t: number): Promise<SpectrumRecord> {
    const set = this.set!;
    const s = this.config.spectrum!.top;
    await this.inputGramsRecorded;
    const step = this.gpu.step(`spectrum ${t}`);
    let tape: Tape | null = null;
    if (set.K) {
      tape = await this.formSet(step);
      this.formedAt = t;
    }
    await this.setResidual(step, tape, this.analysisScalars!, 0);
    this.gpu.submit(step);
    const r = await this.spectrumOnGpu(s, t);
    const [sumsq] = await this.gpu.read(this.analysisScalars!, 0, 4);
    const record = spectrumRecord(set.n, r, r.projections, sumsq);
    this.spectra.set(t, record);
    return record;
  }

  /** Lanczos on the GPU over the set's operator (formed or matrix-free), then u_iᵀ r for the Ritz vectors. */
  private async spectrumOnGpu(s: number, t: number): Promise<{ values: number[]; smallest: number; iterations: number; projections: ArrayLike<number>; residuals: number[]; smallestResidual: number }> {
    const set = this.set!;
    const r = await this.lanczos!.run(set.operator, { count: s, seed: t, iterations: this.lanczosSteps });
    const proj = this.gpu.matrix('spectrum projections', r.values.length, 1);
    const tail = this.gpu.step(`spectrum projections ${t}`);
    await matmul(tail, r.vectors, set.residual, proj, { transA: true });
    this.gpu.submit(tail);
    const projections = await this.gpu.read(proj.buffer);
    proj.buffer.destroy();
    r.vectors.buffer.destroy();
    return { ...r, projections };
  }

  /** The set's K formed at the current parameters (structured where it applies), and the forward pass's tape. */
  private formSet(step: Step): Promise<Tape> {
    const set = this.set!;
    return this.gram.form(step, set.X, set.K!, { inputGram: set.inputGram ?? undefined });
  }

  /**
   * Records the set's residual (output-major) into set.residual and ‖f − y‖² into out[slot]: from the forward
   * pass `tape` of the set, or chunk by chunk for a matrix-free set.
   */
  private async setResidual(step: Step, tape: Tape | null, out: GPUBuffer, slot: number): Promise<void> {
    const set = this.set!;
    if (set.matrixFree) {
      await set.matrixFree.residual(step, set.Y, set.residual, out, slot);
      return;
    }
    const { residual } = await this.losses.mse(step, tape!.output, set.Y, out, slot);
    await step.host.prepare([transpose]);
    step.dispatch(transpose, [residual, set.residual], { rows: set.n, cols: this.net.outputs });
  }

  /**
   * Records the due tracking of step t into out[row·METRIC_SLOTS + slot]. (X, Y) is the step's batch, whose
   * forward and backward passes the training step has just run at the current parameters (before the
   * update). Nothing here touches the training gradients.
   */
  async record(step: Step, t: number, tape: Tape, Y: Matrix, out: GPUBuffer, row: number, batchRows: GPUBuffer | null = null): Promise<void> {
    await this.inputGramsRecorded;
    const X = tape.X;
    const base = row * METRIC_SLOTS;
    const b = this.config.batch;
    if (b && due(t, b.every)) {
      const entry = this.batchOperator(X);
      if (entry.K) await this.gram.form(step, X, entry.K, { tape, inputGram: await this.batchInputGram(step, X.rows, batchRows) });
      if (entry.exact) entry.exact.stage(step, entry.K!, row, t);
      else await this.recordPower(step, entry.power, entry.K ?? entry.matrixFree!, b.iterations, out, base + SLOT.lambdaBatch, base + SLOT.batchResidual);
    }
    const h = this.config.hessian;
    if (h && this.hessian && due(t, h.every)) {
      await this.recordPower(step, this.hessian.power, this.hessian.op.at(X, Y), h.iterations, out, base + SLOT.lambdaHessian, base + SLOT.hessianResidual);
    }
    const pc = this.config.preconditioned;
    if (pc && this.preconditioned && due(t, pc.every)) {
      await this.preconditioned.record(step, X, t, row, (power, op) =>
        this.recordPower(step, power, op, pc.iterations, out, base + SLOT.lambdaPreconditioned, base + SLOT.preconditionedResidual),
      );
    }
    const s = this.config.set;
    const setDue = Boolean(s && this.set && due(t, s!.every));
    const spectrumDue = Boolean(this.stagedSpectrum && due(t, this.config.spectrum!.every));
    let setTape: Tape | null = null;
    if ((setDue || spectrumDue) && this.set) {
      const set = this.set;
      const stepTape = this.setTapeOf(tape);
      if (set.K && this.formedAt === t) {
        // analyze() formed K and the residual at these parameters; the row needs only the loss it found.
        step.copy(this.analysisScalars!, out, 4, 0, (base + SLOT.setLoss) * 4);
      } else {
        if (set.K) setTape = stepTape ? await this.gram.form(step, stepTape.X, set.K, { tape: stepTape, inputGram: set.inputGram ?? undefined }) : await this.formSet(step);
        // The set's loss and residual at these parameters.
        await this.setResidual(step, setTape, out, base + SLOT.setLoss);
      }
      if (spectrumDue) this.stagedSpectrum!.stage(step, set.K!, set.residual, row, t);
      if (setDue) {
        await this.recordPower(step, set.power, set.operator, s!.iterations, out, base + SLOT.lambdaSet, base + SLOT.setResidual);
        // u₁ᵀ r with u₁ the power vector.
        await reduce(step, 'dot', set.power.v, set.residual, out, base + SLOT.topProjection);
      }
    }
    const a = this.config.agop;
    if (a && this.agop && this.set && due(t, a.every)) {
      // The formed-kernel path has just run the set's forward pass (or the step's is the set's); the matrix-free one ran it in chunks.
      await this.agop.network.record(step, this.set.X, this.agop.G, { tape: setTape ?? this.setTapeOf(tape) ?? undefined });
      await reduce(step, 'dot', this.agop.G, this.agop.Gstar, out, base + SLOT.agopDot);
      await reduce(step, 'norm', this.agop.G, null, out, base + SLOT.agopNorm);
    }
    const ada = this.config.adagrad;
    if (ada && this.adagradState && due(t, ada.every)) {
      // The minimum of the accumulator over each trainable tensor (padding and frozen layers excluded) among
      // the entries above the initial value, then over the tensors. It reads the accumulator before this
      // step's update: Σ over steps < t.
      const { sum, tensors, initial } = this.adagradState;
      const partials = step.scratch(tensors.length * 4);
      const above = Math.fround(initial);
      for (const [i, { offset, count }] of tensors.entries()) await reduce(step, 'min', new Matrix(sum, count, 1, offset * 4), null, partials, i, { above });
      await reduce(step, 'min', new Matrix(partials, tensors.length, 1), null, out, base + SLOT.adagradMin);
    }
  }

  /**
   * The step's tape where it is the set's forward pass: full-batch GD on the whole training set, and no forward
   * pass since at that batch size (a matrix-free product or the Hessian's runs its own).
   */
  private setTapeOf(tape: Tape): Tape | null {
    return this.set && tape.X === this.trainInputs && tape.X.rows === this.set.n && this.net.isCurrent(tape) ? tape : null;
  }

  /** Power iterations into out[slot] and their residual into out[residualSlot]; more of them from a cold start. */
  private async recordPower(step: Step, power: PowerIteration, K: Matrix | SymmetricOperator, configured: number | undefined, out: GPUBuffer, slot: number, residualSlot: number): Promise<void> {
    const iterations = power.warm ? (configured ?? 20) : Math.max(configured ?? 20, COLD_START_ITERATIONS);
    await power.record(step, K, iterations, out, slot, residualSlot);
    power.warm = true;
  }

  /** Collects what the exact batch solves staged since the last readback: call before read() for those steps. */
  async collect(): Promise<void> {
    for (const e of this.batchPower.values()) await e.exact?.collect();
    await this.preconditioned?.collect();
    await this.stagedSpectrum?.collect();
  }

  /**
   * Warm-starts the tracked set's power iteration from v, the training set's top eigenvector measured to
   * tolerance at initialization (for lrUnit "eta-crit"), where the set is the whole training set: its first
   * tracked λ_max then starts converged instead of from a random vector.
   */
  adoptSetVector(v: Matrix, trainRows: number): void {
    if (!this.set || this.set.n !== trainRows || this.set.power.warm || v.length !== this.set.power.v.length) return;
    const copy = this.gpu.step('set warm start');
    copy.copy(v.buffer, this.set.power.v.buffer, v.length * 4, v.offset, 0);
    this.gpu.submit(copy);
    this.set.power.warm = true;
  }

  /** How step t's batch λ_max is found: exactly on the host for formed kernels up to EXACT_BATCH_MAX, or as configured. */
  private batchSolver(formed: boolean, nk: number): 'exact' | 'power' {
    const choice = this.config.batch?.solver ?? 'auto';
    if (choice === 'exact' && !formed) throw new RangeError('tracking.batch.solver "exact" needs the batch NTK formed: use tracking.batch.method "structured" (or "auto" with a smaller batch), or solver "power"');
    if (choice !== 'auto') return choice;
    return formed && nk <= EXACT_BATCH_MAX ? 'exact' : 'power';
  }

  /** The power iteration and operator of batches of X's size, made on first use (method by cost, or as configured). */
  private batchOperator(X: Matrix): BatchOperator {
    const b = X.rows;
    const k = this.net.outputs;
    const nk = b * k;
    // A resumed run restores the power vector before the first batch of its size: the operator comes now.
    const restored = this.batchPower.get(b);
    if (restored && (restored.K || restored.matrixFree)) return restored;
    const choice = this.config.batch?.method ?? 'auto';
    const method =
      choice !== 'auto'
        ? choice
        : chooseNtkMethod({
            sites: this.net.sites,
            n: b,
            k,
            iterations: this.config.batch?.iterations ?? 20,
            inputGram: this.trainGram !== null,
            maxBindingBytes: this.gpu.limits.maxStorageBufferBindingSize,
            formedRows: this.formedRows,
          });
    const entry: BatchOperator = {
      power: restored?.power ?? new PowerIteration(this.gpu, nk, 2),
      exact: this.batchSolver(method === 'structured', nk) === 'exact' ? new ExactBatchEigen(this.gpu, this.metricRows, nk) : null,
      K: method === 'structured' ? this.gpu.matrix(`batch NTK (${b})`, nk, nk, undefined, 'use a smaller batch, or tracking.batch.method "matrix-free"') : null,
      matrixFree: method === 'matrix-free' ? new MatrixFreeNtk(this.gpu, this.net, X, { chunk: Math.ceil(b / 64) * 64 }) : null,
    };
    this.batchPower.set(b, entry);
    return entry;
  }

  /** The batch's block of the training set's input Gram (the whole of it for a full batch), where it is kept. */
  private async batchInputGram(step: Step, b: number, batchRows: GPUBuffer | null): Promise<Matrix | undefined> {
    if (!this.trainGram) return undefined;
    if (!batchRows) return b === this.trainGram.rows ? this.trainGram : undefined;
    const block = new Matrix(step.scratch(b * b * 4), b, b);
    await gatherSquare(step, this.trainGram, batchRows, block);
    return block;
  }

  /** The tracked quantities of one metrics row, for the step record. */
  read(values: Float32Array, row: number, t: number, batchRows: number, lr: number): Partial<Record<TrackedField, number>> & { eigenvalues?: number[]; eigenvalueResiduals?: number[] } {
    const v = (slot: number) => values[row * METRIC_SLOTS + slot];
    const r: Partial<Record<TrackedField, number>> & { eigenvalues?: number[]; eigenvalueResiduals?: number[] } = {};
    if (this.config.batch && due(t, this.config.batch.every)) {
      const exact = this.batchPower.get(batchRows)?.exact?.take(t);
      r.lambdaBatch = exact ? exact.lambda : v(SLOT.lambdaBatch);
      r.lambdaBatchResidual = exact ? exact.residual : v(SLOT.batchResidual);
      r.etaCrit = batchRows / r.lambdaBatch;
    }
    if (this.preconditioned && due(t, this.config.preconditioned!.every)) {
      const exact = this.preconditioned.take(t, batchRows);
      r.lambdaPreconditioned = exact ? exact.lambda : v(SLOT.lambdaPreconditioned);
      r.lambdaPreconditionedResidual = exact ? exact.residual : v(SLOT.preconditionedResidual);
      r.etaCritPreconditioned = batchRows / r.lambdaPreconditioned;
    }
    if (this.hessian && due(t, this.config.hessian!.every)) {
      r.lambdaHessian = v(SLOT.lambdaHessian);
      r.lambdaHessianResidual = v(SLOT.hessianResidual);
      r.etaCritHessian = 2 / r.lambdaHessian;
    }
    if (this.set && due(t, this.config.set!.every)) {
      const n = this.set.n;
      r.lambda = v(SLOT.lambdaSet);
      r.lambdaResidual = v(SLOT.setResidual);
      r.setLoss = v(SLOT.setLoss) / n;
      r.lossTop = v(SLOT.topProjection) ** 2 / n;
      r.lossRest = r.setLoss - r.lossTop;
    }
    if (this.agop && due(t, this.config.agop!.every)) r.alignment = v(SLOT.agopDot) / (v(SLOT.agopNorm) * this.agop.normStar);
    if (this.adagradState && due(t, this.config.adagrad!.every)) {
      const min = v(SLOT.adagradMin);
      r.adagradS = Math.sqrt(min === MIN_IDENTITY ? this.adagradState.initial : min);
      r.adagradRate = lr / r.adagradS;
      if (r.lambda !== undefined) r.adagradBound = (r.adagradS * this.set!.n) / r.lambda;
    }
    const spectrum = this.spectra.get(t) ?? this.stagedSpectrum?.take(t);
    if (spectrum) {
      this.spectra.delete(t);
      r.eigenvalues = spectrum.eigenvalues;
      r.lambdaMin = spectrum.lambdaMin;
      r.condition = spectrum.condition;
      r.lossTopS = spectrum.lossTopS;
      r.lossRestS = spectrum.lossRestS;
      r.eigenvalueResiduals = spectrum.eigenvalueResiduals;
      r.lambdaMinResidual = spectrum.lambdaMinResidual;
    }
    return r;
  }

  private powers(): PowerIteration[] {
    return [...[...this.batchPower.values()].map((e) => e.power), ...(this.set ? [this.set.power] : []), ...(this.hessian ? [this.hessian.power] : [])];
  }

  /** The power iterations' warm-start vectors, by name, so a resumed run tracks exactly as the original. */
  warmStarts(): Record<string, Matrix> {
    const out: Record<string, Matrix> = {};
    for (const [b, e] of this.batchPower) out[`batch.${b}`] = e.power.v;
    if (this.set) out.set = this.set.power.v;
    if (this.hessian) out.hessian = this.hessian.power.v;
    return out;
  }

  /** Restores warm starts saved by warmStarts(); a batch size not seen yet gets its power iteration now. */
  restoreWarmStarts(vectors: Record<string, Float32Array>): void {
    const k = this.net.outputs;
    for (const name of Object.keys(vectors)) {
      const batch = /^batch\.(\d+)$/.exec(name);
      const b = Number(batch?.[1]);
      if (batch && !this.batchPower.has(b)) this.batchPower.set(b, { power: new PowerIteration(this.gpu, b * k, 2), exact: null, K: null, matrixFree: null });
    }
    const targets = this.warmStarts();
    for (const [name, v] of Object.entries(vectors)) {
      const target = targets[name];
      if (!target) throw new RangeError(`checkpoint has a warm start "${name}" that this run's tracking does not use`);
      if (target.length !== v.length) throw new RangeError(`warm start "${name}": ${v.length} values, the run needs ${target.length}`);
      this.gpu.write(target.buffer, v);
    }
    for (const power of this.powers()) if (Object.values(targets).includes(power.v)) power.warm = true;
  }

  destroy(): void {
    this.gram.destroy();
    this.losses.destroy();
    for (const e of this.batchPower.values()) {
      e.power.destroy();
      e.exact?.destroy();
      e.K?.buffer.destroy();
      e.matrixFree?.destroy();
    }
    if (this.set) {
      this.set.power.destroy();
      this.set.matrixFree?.destroy();
      for (const m of [this.set.X, this.set.Y, this.set.K, this.set.residual, this.set.inputGram]) m?.buffer.destroy();
    }
    if (this.agop) {
      this.agop.network.destroy();
      for (const m of [this.agop.G, this.agop.Gstar]) m.buffer.destroy();
    }
    if (this.hessian) {
      this.hessian.op.destroy();
      this.hessian.power.destroy();
    }
    this.lanczos?.destroy();
    this.stagedSpectrum?.destroy();
    this.preconditioned?.destroy();
    this.analysisScalars?.destroy();
    this.trainGram?.buffer.destroy();
  }
}
