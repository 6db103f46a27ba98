// λ_max of each step's batch NTK, hence η_crit(batch) = b/λ_max (the convention is η_crit = n/λ_max(K) with n
// examples; nk·… for k outputs). The kernel is formed from the step's own forward pass, or applied as products
// J(Jᵀv) (matrix-free) where that is cheaper (src/ntk/method.ts). A formed kernel of at most EXACT_BATCH_MAX
// rows is solved exactly on the host in float64 from a copy read back with the metrics (src/ntk/exact-batch.ts);
// otherwise warm-started power iterations run on the GPU, each with its relative residual.
import { z } from 'zod';
import type { Matrix } from '../../gpu/matrix.ts';
import { Matrix as GpuMatrix } from '../../gpu/matrix.ts';
import { gatherSquare, matmul } from '../../kernels/ops.ts';
import type { Step } from '../../gpu/step.ts';
import { EXACT_BATCH_MAX, ExactBatchEigen } from '../../ntk/exact-batch.ts';
import { NtkGram } from '../../ntk/gram.ts';
import { MatrixFreeNtk } from '../../ntk/matrix-free.ts';
import { chooseNtkMethod, formedRowsLimit, NTK_METHOD_CHOICES } from '../../ntk/method.ts';
import { PowerIteration } from '../../ntk/spectrum.ts';
import { choice, every, powerIterations } from '../../util/schema-fields.ts';
import { DEFAULT_ITERATIONS, defineProbe, dueEvery, recordPower, type ProbeSetup, type ReadContext, type StepContext } from '../probe.ts';

/** Training sets up to this size keep their inputs' Gram (64 MiB at the limit) for the batch NTK. */
const INPUT_GRAM_MAX = 4096;

const schema = z
  .strictObject(
    {
      every: every(),
      iterations: powerIterations(),
      method: choice(NTK_METHOD_CHOICES, 'how the batch NTK is applied: formed (structured where every layer has the formula, else from per-example gradients), or as products J(Jᵀv); auto takes the cheaper').optional(),
      solver: choice(['auto', 'exact', 'power'], 'exact: the formed batch NTK read back and solved in float64 to a relative residual of 1e-6; power: warm-started power iterations on the GPU; auto: exact up to 256 rows').optional(),
    },
    { error: () => 'must be an object' },
  )
  .describe('λ_max and η_crit of each step\'s batch');

type BatchConfig = z.infer<typeof schema>;

interface PerBatchSize {
  power: PowerIteration;
  /** Set where this batch size's λ_max is solved exactly on the host instead. */
  exact: ExactBatchEigen | null;
  /** The formed batch NTK, or null when the batch is tracked matrix-free. */
  K: Matrix | null;
  matrixFree: MatrixFreeNtk | null;
}

export const batchProbe = defineProbe({
  key: 'batch',
  schema,
  slots: ['lambda', 'residual'],
  fields: {
    lambdaBatch: { label: 'λ_max of the batch’s NTK' },
    lambdaBatchResidual: { label: 'its relative residual ‖Kv − λv‖/λ' },
    etaCrit: { label: 'η_crit(batch) = b/λ_max' },
  },
  eigenvalues: [{ value: 'lambdaBatch', residual: 'lambdaBatchResidual', label: 'λ_max of the batch NTK (η_crit(batch))' }],
  check(c) {
    if (c.solver === 'exact' && c.method === 'matrix-free') throw new RangeError('tracking.batch.solver "exact" solves the formed batch NTK, and tracking.batch.method "matrix-free" never forms it: use method "formed" or "auto", or solver "power"');
  },
  create(setup, config) {
    return new BatchProbe(setup, config);
  },
});

class BatchProbe {
  private readonly bySize = new Map<number, PerBatchSize>();
  private readonly gram: NtkGram;
  /**
   * X·Xᵀ of the whole training set, formed once: each batch's block of it is the first layer's input Gram in
   * the batch NTK (gathered by the batch's indices), where the set is small enough and the first layer trains.
   */
  private readonly trainGram: Matrix | null;
  private trainGramFormed: Promise<void> | null = null;
  readonly due: (t: number) => boolean;

  constructor(
    private readonly setup: ProbeSetup,
    private readonly config: BatchConfig,
  ) {
    const { gpu, net, trainInputs } = setup;
    if (setup.notOnePass) throw new RangeError(`tracking.batch ${setup.notOnePass}`);
    this.due = dueEvery(config.every);
    this.gram = new NtkGram(gpu, net);
    const firstLayerTrains = net.sites.length > 0 && !net.sites[0].frozen;
    this.trainGram = firstLayerTrains && trainInputs.rows <= INPUT_GRAM_MAX ? gpu.matrix('training set input Gram', trainInputs.rows, trainInputs.rows) : null;
  }

  private async formTrainGram(): Promise<void> {
    if (!this.trainGram) return;
    const step = this.setup.gpu.step('training set input Gram');
    await matmul(step, this.setup.trainInputs, this.setup.trainInputs, this.trainGram, { transB: true });
    this.setup.gpu.submit(step);
  }

  async record(ctx: StepContext): Promise<void> {
    const X = ctx.tape.X;
    const entry = this.entry(X);
    if (entry.K) await this.gram.form(ctx.step, X, entry.K, { tape: ctx.tape, inputGram: await this.inputGram(ctx.step, X.rows, ctx.batchIndex) });
    if (entry.exact) entry.exact.stage(ctx.step, entry.K!, ctx.row, ctx.t);
    else await recordPower(ctx, entry.power, entry.K ?? entry.matrixFree!, this.config.iterations);
  }

  async collect(): Promise<void> {
    for (const e of this.bySize.values()) await e.exact?.collect();
  }

  read(ctx: ReadContext) {
    if (!this.due(ctx.t)) return {};
    const exact = this.bySize.get(ctx.batchRows)?.exact?.take(ctx.t);
    const lambdaBatch = exact ? exact.lambda : ctx.value('lambda');
    return { lambdaBatch, lambdaBatchResidual: exact ? exact.residual : ctx.value('residual'), etaCrit: ctx.batchRows / lambdaBatch };
  }

  warmStarts(): Record<string, PowerIteration> {
    return Object.fromEntries([...this.bySize].map(([b, e]) => [`batch.${b}`, e.power]));
  }

  /** A resumed run restores a batch size's power vector before its first batch: its operator comes then. */
  expectWarmStart(name: string): void {
    const b = Number(/^batch\.(\d+)$/.exec(name)?.[1]);
    if (b > 0 && !this.bySize.has(b)) this.bySize.set(b, { power: new PowerIteration(this.setup.gpu, b * this.setup.net.outputs, 2), exact: null, K: null, matrixFree: null });
  }

  /** How a batch's λ_max is found: exactly on the host for formed kernels up to EXACT_BATCH_MAX, or as configured. */
  private solver(formed: boolean, nk: number): 'exact' | 'power' {
    const choice = this.config.solver ?? 'auto';
    if (choice === 'exact' && !formed) throw new RangeError('tracking.batch.solver "exact" needs the batch NTK formed: use tracking.batch.method "formed" (or "auto" with a smaller batch), or solver "power"');
    if (choice !== 'auto') return choice;
    // A rate that follows the live η_crit needs the batch's λ_max on the GPU within the step.
    return formed && nk <= EXACT_BATCH_MAX && !this.setup.liveBatchRate ? 'exact' : 'power';
  }

  /** The power iteration and operator of batches of X's size, made on first use (method by cost, or as configured). */
  private entry(X: Matrix): PerBatchSize {
    const { gpu, net } = this.setup;
    const b = X.rows;
    const k = net.outputs;
    const nk = b * k;
    const restored = this.bySize.get(b);
    if (restored && (restored.K || restored.matrixFree)) return restored;
    const choice = this.config.method ?? 'auto';
    const formedRows = formedRowsLimit(net.sites, k, net.microBatch, gpu.limits.maxStorageBufferBindingSize);
    const method =
      choice !== 'auto'
        ? choice
        : chooseNtkMethod({ sites: net.sites, n: b, k, iterations: this.config.iterations ?? DEFAULT_ITERATIONS, inputGram: this.trainGram !== null, maxBindingBytes: gpu.limits.maxStorageBufferBindingSize, formedRows });
    const entry: PerBatchSize = {
      power: restored?.power ?? new PowerIteration(gpu, nk, 2),
      exact: this.solver(method === 'formed', nk) === 'exact' ? new ExactBatchEigen(gpu, this.setup.metricRows, nk) : null,
      K: method === 'formed' ? gpu.matrix(`batch NTK (${b})`, nk, nk, undefined, 'use a smaller batch, or tracking.batch.method "matrix-free"') : null,
      matrixFree: method === 'matrix-free' ? new MatrixFreeNtk(gpu, net, X, { chunk: Math.ceil(b / 64) * 64 }) : null,
    };
    this.bySize.set(b, entry);
    return entry;
  }

  /** The batch's block of the training set's input Gram (the whole of it for a full batch), where it is kept. */
  private async inputGram(step: Step, b: number, batchIndex: GPUBuffer | null): Promise<Matrix | undefined> {
    await (this.trainGramFormed ??= this.formTrainGram());
    if (!this.trainGram) return undefined;
    if (!batchIndex) return b === this.trainGram.rows ? this.trainGram : undefined;
    const block = new GpuMatrix(step.scratch(b * b * 4), b, b);
    await gatherSquare(step, this.trainGram, batchIndex, block);
    return block;
  }

  destroy(): void {
    this.gram.destroy();
    for (const e of this.bySize.values()) {
      e.power.destroy();
      e.exact?.destroy();
      e.K?.buffer.destroy();
      e.matrixFree?.destroy();
    }
    this.trainGram?.buffer.destroy();
  }
}
