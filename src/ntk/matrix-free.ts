// The NTK of a set of n examples as a matrix-free operator: K v = J (Jᵀ v), never forming the nk×nk matrix.
//   Jᵀ v: one backward pass with the output seed v (Σ_i v_i ∇θ f(x_i)), chunk by chunk, summed;
//   J u:  one forward-mode pass (Network.jvp) with that parameter-space tangent, chunk by chunk.
// Cost per product: two forward, one backward and one forward-mode pass over the set; when the set fits in
// one chunk, linearize() runs its one forward pass for all the products at that point. O(n · parameters), against O(n² · Σ widths) to form K. This is
// how λ_max of a whole training set (all 10,000 bundled MNIST digits) is tracked.
// Vectors are in the NTK's output-major order (entry a·n + i is output a of example i), like NtkGram.
// With a preconditioner P (a flat parameter-sized buffer, the optimizer's diagonal), the operator is
// J·P·Jᵀ: Jᵀv is scaled by P between the two passes, the kernel whose λ_max sets an adaptive optimizer's
// critical rate.
import { addInPlace, multiplyInPlace } from '../../shaders/lincomb.ts';
import { transpose } from '../../shaders/transpose.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { Matrix } from '../gpu/matrix.ts';
import { linearCombination, reduce } from '../kernels/ops.ts';
import type { Step } from '../gpu/step.ts';
import type { Network, Tape } from '../nn/network.ts';
import type { Linearizable, SymmetricOperator } from './operator.ts';

/** Chunks must start at 256-byte boundaries of every example-major buffer: a multiple of 64 rows. */
const CHUNK_ALIGN = 64;

export class MatrixFreeNtk implements Linearizable {
  readonly n: number;
  readonly k: number;
  readonly dim: number;
  readonly chunk: number;
  private readonly seed: Matrix;
  private readonly outputs: Matrix;
  private readonly jtv: GPUBuffer;
  private readonly jtvChunk: GPUBuffer;
  private readonly preconditioner: GPUBuffer | null;

  /** X: the set's n×d inputs, uploaded once; chunk: examples per pass (a multiple of 64). */
  constructor(
    private readonly gpu: Gpu,
    private readonly net: Network,
    readonly X: Matrix,
    options: { chunk?: number; preconditioner?: GPUBuffer } = {},
  ) {
    this.preconditioner = options.preconditioner ?? null;
    const chunk = options.chunk ?? Math.max(CHUNK_ALIGN, Math.floor(Math.min(2048, net.microBatch) / CHUNK_ALIGN) * CHUNK_ALIGN);
    if (!Number.isInteger(chunk) || chunk < CHUNK_ALIGN || chunk % CHUNK_ALIGN !== 0) {
      throw new RangeError(`matrix-free NTK: chunk must be a positive multiple of ${CHUNK_ALIGN} examples, got ${chunk}`);
    }
    if (X.cols !== net.inputSize) throw new RangeError(`matrix-free NTK: the network takes ${net.inputSize} inputs, X has ${X.cols} columns`);
    if (!net.sites.some((s) => !s.frozen)) throw new RangeError('every layer is frozen: the NTK of no parameters is zero');
    this.n = X.rows;
    this.k = net.outputs;
    this.dim = this.n * this.k;
    this.chunk = Math.min(chunk, this.n);
    const shrink = 'track fewer examples';
    this.seed = gpu.matrix('matrix-free NTK seed (example-major)', this.n, this.k, undefined, shrink);
    this.outputs = gpu.matrix('matrix-free NTK outputs (example-major)', this.n, this.k, undefined, shrink);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const size = net.layout.size * 4;
    this.jtv = gpu.createBuffer({ label: 'Jᵀv', size, usage, shrink: 'use a smaller network' });
    this.jtvChunk = gpu.createBuffer({ label: 'Jᵀv of a chunk', size, usage, shrink: 'use a smaller network' });
  }

  private get chunks(): { from: number; rows: number }[] {
    const out = [];
    for (let from = 0; from < this.n; from += this.chunk) out.push({ from, rows: Math.min(this.chunk, this.n - from) });
    return out;
  }

  /**
   * The NTK at the current parameters: with one chunk its forward pass, recorded into `step`, which every
   * product reuses (backward and jvp keep activations); with several, each product runs the chunks' own.
   */
  async linearize(step: Step): Promise<SymmetricOperator> {
    const tape = this.chunk === this.n ? await this.net.forward(step, this.X, { workspace: 'matrix-free' }) : null;
    return { dim: this.dim, apply: (s: Step, v: Matrix, out: Matrix) => this.product(s, tape, v, out) };
  }

  /** The chunk's forward pass: the linearized one for a single chunk, else a new one. */
  private async pass(step: Step, tape: Tape | null, Xc: Matrix): Promise<Tape> {
    return tape ?? this.net.forward(step, Xc, { workspace: 'matrix-free' });
  }

  private rows(M: Matrix, from: number, rows: number): Matrix {
    return from === 0 && rows === M.rows ? M : new Matrix(M.buffer, rows, M.cols, M.offset + from * M.cols * 4);
  }

  /** K v into out, from the single chunk's forward pass `tape` or (null) the chunks' own. */
  private async product(step: Step, tape: Tape | null, v: Matrix, out: Matrix): Promise<void> {
    if (v.length !== this.dim || out.length !== this.dim) throw new RangeError(`matrix-free NTK acts on ${this.dim}-vectors, got ${v.length} and ${out.length}`);
    await step.host.prepare([transpose, addInPlace, multiplyInPlace]);
    step.dispatch(transpose, [v, this.seed], { rows: this.k, cols: this.n });
    const chunks = this.chunks;
    for (const [c, { from, rows }] of chunks.entries()) {
      const pass = await this.pass(step, tape, this.rows(this.X, from, rows));
      await this.net.backward(step, pass, this.rows(this.seed, from, rows), { into: c === 0 ? this.jtv : this.jtvChunk });
      if (c > 0) step.dispatch(addInPlace, [this.net.paramVector(this.jtvChunk), this.net.paramVector(this.jtv)], { count: this.net.layout.size });
    }
    if (this.preconditioner) step.dispatch(multiplyInPlace, [this.net.paramVector(this.preconditioner), this.net.paramVector(this.jtv)], { count: this.net.layout.size });
    for (const { from, rows } of chunks) {
      const pass = await this.pass(step, tape, this.rows(this.X, from, rows));
      await this.net.jvp(step, pass, this.jtv, this.rows(this.outputs, from, rows));
    }
    step.dispatch(transpose, [this.outputs, out], { rows: this.n, cols: this.k });
  }

  /**
   * Records the set's residual f − y in output-major order into `residual` (nk×1) and ‖f − y‖² into
   * out[slot], chunk by chunk: the quantities of the loss split L≤s / L>s.
   */
  async residual(step: Step, Y: Matrix, residual: Matrix, out: GPUBuffer, slot: number): Promise<void> {
    if (Y.rows !== this.n || Y.cols !== this.k) throw new RangeError(`residual: targets must be ${this.n}×${this.k}, got ${Y.rows}×${Y.cols}`);
    for (const { from, rows } of this.chunks) {
      const { output } = await this.net.forward(step, this.rows(this.X, from, rows), { workspace: 'matrix-free' });
      await linearCombination(step, 1, output, -1, this.rows(Y, from, rows), this.rows(this.outputs, from, rows));
    }
    await reduce(step, 'sumsq', this.outputs, null, out, slot);
    await step.host.prepare([transpose]);
    step.dispatch(transpose, [this.outputs, residual], { rows: this.n, cols: this.k });
  }

  destroy(): void {
    for (const m of [this.seed, this.outputs]) m.buffer.destroy();
    this.jtv.destroy();
    this.jtvChunk.destroy();
  }
}
