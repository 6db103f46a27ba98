// The tracked set (tracking.set): the first `examples` training examples, whose NTK several probes read (its
// λ_max and loss split, its spectrum, its trace, the AGOP on it). It is evaluated at most once per step, at that
// step's parameters, whichever probe asks first: K formed ("formed") or applied as products ("matrix-free"), and
// the residual f − y with ‖f − y‖². Where the step's batch is the whole set in one pass (full-batch GD on it),
// the step's own forward pass is the set's.
import { transpose } from '../../shaders/transpose.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { Matrix } from '../gpu/matrix.ts';
import { matmul } from '../kernels/ops.ts';
import type { Step } from '../gpu/step.ts';
import { LossHeads } from '../nn/loss.ts';
import type { Network, Tape } from '../nn/network.ts';
import { NtkGram } from '../ntk/gram.ts';
import { MatrixFreeNtk } from '../ntk/matrix-free.ts';
import { chooseNtkMethod, formedRowsLimit, type NtkMethodChoice } from '../ntk/method.ts';
import { matrixOperator, type Linearizable, type SymmetricOperator } from '../ntk/operator.ts';

/** The tracked set at one step: each is recorded on first use and shared by every probe after it. */
export interface TrackedSetAtStep {
  /** K (formed sets), the output-major residual f − y and ‖f − y‖² (TrackedSet.lossSum). */
  evaluate(): Promise<{ K: Matrix | null; operator: SymmetricOperator | Linearizable; residual: Matrix }>;
  /** The set's forward pass (null: a matrix-free set, evaluated in chunks). */
  forward(): Promise<Tape | null>;
}

export interface TrackedSetConfig {
  examples: number;
  method?: NtkMethodChoice;
  chunk?: number;
}

export class TrackedSet {
  readonly X: Matrix;
  readonly Y: Matrix;
  readonly n: number;
  /** The set's NTK ("formed"), or null ("matrix-free", whose products are `operator`). */
  readonly K: Matrix | null;
  readonly operator: SymmetricOperator | Linearizable;
  /** f − y of the set, output-major (nk×1), at the parameters it was last evaluated at. */
  readonly residual: Matrix;
  /** ‖f − y‖² of the set at those parameters (one f32). */
  readonly lossSum: GPUBuffer;
  private readonly matrixFree: MatrixFreeNtk | null;
  private readonly gram: NtkGram;
  private readonly losses: LossHeads;
  /** X·Xᵀ of the set's inputs for the formed kernel's first layer (null: matrix-free, or the first layer frozen). */
  private readonly inputGram: Matrix | null;
  /** Formed once, on the first evaluation (so that nothing is pending if the run fails to start). */
  private inputGramFormed: Promise<void> | null = null;
  private evaluatedAt = -1;
  private forwardAt: { t: number; tape: Tape | null } = { t: -1, tape: null };

  constructor(
    private readonly gpu: Gpu,
    private readonly net: Network,
    data: { x: Float32Array; y: Float32Array; d: number; k: number },
    config: TrackedSetConfig,
    /** Products with K per tracked step, summed over the probes that read it (the method's cost rule). */
    products: number,
    /** Whether each training step's batch is this set in one pass, so that its forward pass is the set's. */
    private readonly stepIsSet: boolean,
  ) {
    const n = config.examples;
    const k = net.outputs;
    this.n = n;
    this.X = gpu.matrix('tracked set inputs', n, data.d, data.x.subarray(0, n * data.d));
    this.Y = gpu.matrix('tracked set targets', n, k, data.y.subarray(0, n * k));
    const formedRows = formedRowsLimit(net.sites, k, net.microBatch, gpu.limits.maxStorageBufferBindingSize);
    const firstLayerTrains = net.sites.length > 0 && !net.sites[0].frozen;
    const choice = config.method ?? 'auto';
    const method = choice !== 'auto' ? choice : chooseNtkMethod({ sites: net.sites, n, k, iterations: products, inputGram: firstLayerTrains, maxBindingBytes: gpu.limits.maxStorageBufferBindingSize, formedRows });
    if (method === 'formed' && n > formedRows) {
      throw new RangeError(
        `tracking.set: forming the NTK of ${n} examples needs them in one pass, and this network on this device takes at most ${formedRows} (maxStorageBufferBindingSize ${gpu.limits.maxStorageBufferBindingSize} bytes): use tracking.set.method "matrix-free" (or "auto"), or tracking.set.examples <= ${formedRows}`,
      );
    }
    this.matrixFree = method === 'matrix-free' ? new MatrixFreeNtk(gpu, net, this.X, { chunk: config.chunk }) : null;
    this.K = this.matrixFree ? null : gpu.matrix('tracked set NTK', n * k, n * k, undefined, 'track fewer examples, or use tracking.set.method "matrix-free"');
    this.operator = this.matrixFree ?? matrixOperator(this.K!);
    this.residual = gpu.matrix('tracked set residual (output-major)', n * k, 1);
    this.lossSum = gpu.createBuffer({ label: 'tracked set loss', size: 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    this.gram = new NtkGram(gpu, net);
    this.losses = new LossHeads(gpu, k);
    this.inputGram = !this.matrixFree && firstLayerTrains ? gpu.matrix('tracked set input Gram', n, n, undefined, 'track fewer examples') : null;
  }

  get matrixFreeMethod(): boolean {
    return this.matrixFree !== null;
  }

  private async formInputGram(): Promise<void> {
    if (!this.inputGram) return;
    const step = this.gpu.step('tracked set input Gram');
    await matmul(step, this.X, this.X, this.inputGram, { transB: true });
    this.gpu.submit(step);
  }

  /** The set at step t's parameters, recorded into `step`; stepTape is the training step's forward pass (null before it). */
  at(step: Step, t: number, stepTape: Tape | null): TrackedSetAtStep {
    return {
      forward: () => this.forward(step, t, stepTape),
      evaluate: async () => {
        await this.evaluate(step, t, stepTape);
        return { K: this.K, operator: this.operator, residual: this.residual };
      },
    };
  }

  private async forward(step: Step, t: number, stepTape: Tape | null): Promise<Tape | null> {
    if (this.stepIsSet && stepTape) return stepTape;
    if (this.forwardAt.t === t) return this.forwardAt.tape;
    // A matrix-free set is evaluated in chunks; only a probe that needs the whole set's activations runs this.
    const tape = await this.net.forward(step, this.X, { workspace: 'tracked set' });
    this.forwardAt = { t, tape };
    return tape;
  }

  private async evaluate(step: Step, t: number, stepTape: Tape | null): Promise<void> {
    if (this.evaluatedAt === t) return;
    this.evaluatedAt = t;
    if (this.matrixFree) {
      await this.matrixFree.residual(step, this.Y, this.residual, this.lossSum, 0);
      return;
    }
    await (this.inputGramFormed ??= this.formInputGram());
    const tape = (await this.forward(step, t, stepTape))!;
    await this.gram.form(step, tape.X, this.K!, { tape, inputGram: this.inputGram ?? undefined });
    const { residual } = await this.losses.mse(step, tape.output, this.Y, this.lossSum, 0);
    await step.host.prepare([transpose]);
    step.dispatch(transpose, [residual, this.residual], { rows: this.n, cols: this.net.outputs });
  }

  destroy(): void {
    this.gram.destroy();
    this.losses.destroy();
    this.matrixFree?.destroy();
    for (const m of [this.X, this.Y, this.K, this.residual, this.inputGram]) m?.buffer.destroy();
    this.lossSum.destroy();
  }
}
