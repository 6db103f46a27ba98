// Optimizers on the GPU with PyTorch's hyperparameters and defaults. The state lives in GPU buffers laid out
// like the parameters; each step dispatches one update per trainable tensor, so frozen layers are untouched
// (weight decay included). The state and the step count can be exported for checkpoints and imported back.
import { ADAPTIVE_KINDS, optimizerPreconditioner, optimizerUpdate, stateNames, type OptimizerShape, type OptimizerVariant } from '../../shaders/optim.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { Matrix } from '../gpu/matrix.ts';
import { checkConfigPart } from '../config/check.ts';
import { optimizerSchema } from '../config/parts.ts';
import type { Step } from '../gpu/step.ts';

/** The optimizers whose update has a diagonal preconditioner (and so a critical rate of their own). */
export const ADAPTIVE_OPTIMIZERS = ADAPTIVE_KINDS;

export type OptimizerName = 'gd' | 'sgd' | 'rmsprop' | 'adagrad' | 'adadelta' | 'adam';
export const OPTIMIZERS: readonly OptimizerName[] = ['gd', 'sgd', 'rmsprop', 'adagrad', 'adadelta', 'adam'];

/** Hyperparameters as torch.optim names them (camelCase); the learning rate comes from the schedule. */
export interface OptimizerConfig {
  name: OptimizerName;
  weightDecay?: number;
  /** sgd, rmsprop */
  momentum?: number;
  /** sgd */
  dampening?: number;
  nesterov?: boolean;
  /** rmsprop: smoothing constant α */
  alpha?: number;
  centered?: boolean;
  eps?: number;
  /** adagrad */
  lrDecay?: number;
  initialAccumulatorValue?: number;
  /** adadelta */
  rho?: number;
  /** adam */
  betas?: [number, number];
  amsgrad?: boolean;
}

export type ResolvedOptimizer = Required<OptimizerConfig>;

/**
 * The optimizer's hyperparameters with torch.optim's defaults, checked against the schema
 * (src/config/schema.ts); 'gd' is plain SGD (its batch is the whole training set). */
export function resolveOptimizer(c: OptimizerConfig): ResolvedOptimizer {
  checkConfigPart(optimizerSchema, c, 'optimizer');
  const eps = { gd: 0, sgd: 0, rmsprop: 1e-8, adagrad: 1e-10, adadelta: 1e-6, adam: 1e-8 }[c.name];
  const r: ResolvedOptimizer = {
    name: c.name,
    weightDecay: c.weightDecay ?? 0,
    momentum: c.momentum ?? 0,
    dampening: c.dampening ?? 0,
    nesterov: c.nesterov ?? false,
    alpha: c.alpha ?? 0.99,
    centered: c.centered ?? false,
    eps: c.eps ?? eps,
    lrDecay: c.lrDecay ?? 0,
    initialAccumulatorValue: c.initialAccumulatorValue ?? 0,
    rho: c.rho ?? 0.9,
    betas: c.betas ?? [0.9, 0.999],
    amsgrad: c.amsgrad ?? false,
  };
  if (r.nesterov && (r.momentum <= 0 || r.dampening !== 0)) {
    throw new RangeError('optimizer.nesterov needs momentum > 0 and dampening = 0');
  }
  return r;
}

export function optimizerVariant(r: ResolvedOptimizer): OptimizerVariant {
  return {
    kind: r.name === 'gd' ? 'sgd' : r.name,
    momentum: (r.name === 'sgd' || r.name === 'rmsprop') && r.momentum > 0,
    nesterov: r.nesterov,
    centered: r.name === 'rmsprop' && r.centered,
    amsgrad: r.name === 'adam' && r.amsgrad,
  };
}

/** What an optimizer updates: flat parameter and gradient buffers and the trainable ranges in them. */
export interface ParameterSet {
  params: GPUBuffer;
  grads: GPUBuffer;
  /** Floats in each flat buffer. */
  size: number;
  /** Trainable tensors as float offsets (multiples of 64, so views bind) and lengths. */
  tensors: { offset: number; count: number }[];
}

export interface OptimizerState {
  /** Steps taken. */
  step: number;
  /** Each state array (torch.optim's names), as long as the flat parameters. */
  buffers: Record<string, Float32Array>;
}

export class Optimizer {
  readonly hyper: ResolvedOptimizer;
  readonly variant: OptimizerVariant;
  readonly stateNames: string[];
  private readonly states: GPUBuffer[];
  /** rate[0] scales every update's rate: 1, or the live rate a LiveRate kernel writes each step. */
  readonly rate: GPUBuffer;
  /** Steps recorded so far (t − 1 during the next step's recording). */
  stepCount = 0;

  constructor(
    private readonly gpu: Gpu,
    private readonly set: ParameterSet,
    config: OptimizerConfig,
  ) {
    this.hyper = resolveOptimizer(config);
    this.variant = optimizerVariant(this.hyper);
    this.stateNames = stateNames(this.variant);
    this.states = this.stateNames.map((name) =>
      gpu.createBuffer({
        label: `optimizer ${name}`,
        size: set.size * 4,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        shrink: 'use a smaller model',
      }),
    );
    this.rate = gpu.createBuffer({ label: 'optimizer rate scale', size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    gpu.write(this.rate, Float32Array.of(1, 0, 0, 0));
    if (this.hyper.name === 'adagrad' && this.hyper.initialAccumulatorValue !== 0) {
      gpu.write(this.states[0], new Float32Array(set.size).fill(this.hyper.initialAccumulatorValue));
    }
  }

  /** Records one update with learning rate `lr` (the schedule's value for this step). */
  async record(step: Step, lr: number): Promise<void> {
    if (!Number.isFinite(lr) || lr < 0) throw new RangeError(`learning rate must be a finite number >= 0, got ${lr}`);
    const def = optimizerUpdate(this.variant);
    await step.host.prepare([def]);
    const shape = this.shape(lr, ++this.stepCount);
    for (const { offset, count } of this.set.tensors) {
      const view = (b: GPUBuffer) => new Matrix(b, 1, count, offset * 4);
      step.dispatch(def, [view(this.set.params), view(this.set.grads), ...this.states.map(view), this.rate], { ...shape, count });
    }
  }

  /** Whether the update has a preconditioner other than the identity (ADAPTIVE_OPTIMIZERS). */
  get preconditioned(): boolean {
    return ADAPTIVE_KINDS.includes(this.variant.kind);
  }

  /**
   * Records the diagonal preconditioner P of the coming update into `into` (a flat parameter-sized buffer)
   * from the gradients already in place and the state before the update (shaders/optim.ts): the update is
   * then θ −= lr·P⊙g, momentum ignored. Entries outside the trainable tensors are left as they are (0).
   */
  async recordPreconditioner(step: Step, into: GPUBuffer): Promise<void> {
    const def = optimizerPreconditioner(this.variant);
    await step.host.prepare([def]);
    // The coming step's factors at a scheduled rate of 1: what the update multiplies that rate by.
    const shape = this.shape(1, this.stepCount + 1);
    for (const { offset, count } of this.set.tensors) {
      const view = (b: GPUBuffer) => new Matrix(b, 1, count, offset * 4);
      step.dispatch(def, [view(into), view(this.set.params), view(this.set.grads), ...this.states.map(view)], { ...shape, count });
    }
  }

  /** The uniforms of step t (1-based) at scheduled rate lr. */
  private shape(lr: number, t: number): Omit<OptimizerShape, 'count'> {
    const h = this.hyper;
    return {
      lr: this.variant.kind === 'adagrad' ? lr / (1 + (t - 1) * h.lrDecay) : lr,
      weightDecay: h.weightDecay,
      momentum: h.momentum,
      dampening: h.dampening,
      decay: this.variant.kind === 'adadelta' ? h.rho : h.alpha,
      beta1: h.betas[0],
      beta2: h.betas[1],
      eps: h.eps,
      first: t === 1,
      biasCorrection1: 1 - h.betas[0] ** t,
      biasCorrection2Sqrt: Math.sqrt(1 - h.betas[1] ** t),
    };
  }

  /** A state array by torch.optim's name ('sum' for Adagrad, ...), or undefined if this kind keeps none. */
  state(name: string): GPUBuffer | undefined {
    const i = this.stateNames.indexOf(name);
    return i < 0 ? undefined : this.states[i];
  }

  /** The trainable tensors this optimizer updates. */
  get tensors(): { offset: number; count: number }[] {
    return this.set.tensors;
  }

  async exportState(): Promise<OptimizerState> {
    const buffers: Record<string, Float32Array> = {};
    for (let i = 0; i < this.states.length; i++) buffers[this.stateNames[i]] = await this.gpu.read(this.states[i]);
    return { step: this.stepCount, buffers };
  }

  importState(s: OptimizerState): void {
    for (let i = 0; i < this.states.length; i++) {
      const data = s.buffers[this.stateNames[i]];
      if (!data || data.length !== this.set.size) {
        throw new RangeError(`optimizer state "${this.stateNames[i]}" must hold ${this.set.size} values, got ${data?.length ?? 'none'}`);
      }
      this.gpu.write(this.states[i], data);
    }
    this.stepCount = s.step;
  }

  destroy(): void {
    for (const b of this.states) b.destroy();
    this.rate.destroy();
  }
}
