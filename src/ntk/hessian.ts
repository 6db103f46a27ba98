// Exact Hessian-vector products of the MSE loss of a batch, L(θ) = (1/b)‖f(θ) − y‖²: prepare() records
// the forward pass and the loss's backward pass once per step; each product is then one forward-mode pass
// (J u) and the R-operator of the backward pass (Network.hessianVectorBackward), about twice a gradient.
// Why exact and not central differences of gradients: a ReLU network's gradient jumps where a unit crosses
// its kink, and a step ±εu large enough to beat float32 rounding (ε ~ 1e-3‖θ‖) crosses some of the
// b·width kinks almost surely; each crossing adds a jump/(2ε) term. On a 2-layer test network that
// made H·u wrong by a factor of about 5. The R-operator holds the masks fixed and gives the Hessian
// almost everywhere, which is what autograd's double backward (and the paper's App. A) computes.
// With power iteration it gives λ_max(H) of the batch loss, to set 2/λ_max(H) beside b/λ_max(K_batch):
// the Gauss–Newton part of H is (2/b) JᵀJ, whose top eigenvalue is 2λ_max(K)/b.
import type { Gpu } from '../gpu/gpu.ts';
import type { Matrix } from '../gpu/matrix.ts';
import { linearCombination } from '../kernels/ops.ts';
import type { Step } from '../gpu/step.ts';
import { LossHeads } from '../nn/loss.ts';
import type { Network, Tape } from '../nn/network.ts';
import type { SymmetricOperator } from './operator.ts';

export class BatchHessian implements SymmetricOperator {
  readonly dim: number;
  private readonly product: GPUBuffer;
  private readonly lossScratch: GPUBuffer;
  private readonly outputTangents = new Map<number, { Fdot: Matrix; seedDot: Matrix }>();
  private X: Matrix | null = null;
  private Y: Matrix | null = null;
  private readonly losses: LossHeads;
  /** The forward pass and loss seed of prepare(), which the step's products reuse. */
  private prepared: { tape: Tape; seed: Matrix } | null = null;

  constructor(
    private readonly gpu: Gpu,
    private readonly net: Network,
  ) {
    this.dim = net.layout.size;
    this.losses = new LossHeads(gpu, net.outputs);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    // Written only on trainable coordinates, so frozen layers and padding read back as zero.
    this.product = gpu.createBuffer({ label: 'Hessian-vector product', size: this.dim * 4, usage, shrink: 'use a smaller network' });
    this.lossScratch = gpu.createBuffer({ label: 'Hessian: loss scratch', size: 4, usage });
  }

  /** Fixes the batch: the operator then acts at the network's parameters at the time of each product. */
  at(X: Matrix, Y: Matrix): this {
    if (Y.rows !== X.rows || Y.cols !== this.net.outputs) throw new RangeError(`Hessian: targets must be ${X.rows}×${this.net.outputs}, got ${Y.rows}×${Y.cols}`);
    this.X = X;
    this.Y = Y;
    return this;
  }

  private batch(): { X: Matrix; Y: Matrix } {
    if (!this.X || !this.Y) throw new Error('Hessian: call at(X, Y) before prepare and apply');
    return { X: this.X, Y: this.Y };
  }

  /** The forward pass and the loss's backward pass at the current parameters: activations and δ_l. */
  async prepare(step: Step): Promise<void> {
    const { X, Y } = this.batch();
    // Its own workspace: the step's tape (which the tracker's other probes read) stays valid.
    const tape = await this.net.forward(step, X, { workspace: 'hessian' });
    const { seed } = await this.losses.mse(step, tape.output, Y, this.lossScratch, 0);
    // The loss gradient itself is not wanted, only the sensitivities the R-operator reads.
    await this.net.backward(step, tape, seed, { paramGrads: false });
    this.prepared = { tape, seed };
  }

  async apply(step: Step, u: Matrix, out: Matrix): Promise<void> {
    const { X } = this.batch();
    if (u.length !== this.dim || out.length !== this.dim) throw new RangeError(`Hessian acts on ${this.dim}-vectors, got ${u.length} and ${out.length}`);
    if (!this.prepared) throw new Error('Hessian: call prepare(step) before apply in each step');
    const { tape, seed } = this.prepared;
    const b = X.rows;
    let t = this.outputTangents.get(b);
    if (!t) {
      const k = this.net.outputs;
      t = { Fdot: this.gpu.matrix(`Hessian: J u (${b})`, b, k), seedDot: this.gpu.matrix(`Hessian: seed tangent (${b})`, b, k) };
      this.outputTangents.set(b, t);
    }
    await this.net.jvp(step, tape, u.buffer, t.Fdot);
    await linearCombination(step, 2 / b, t.Fdot, 0, t.Fdot, t.seedDot);
    await this.net.hessianVectorBackward(step, tape, seed, u.buffer, t.seedDot, this.product);
    step.copy(this.product, out.buffer, this.dim * 4, 0, out.offset);
  }

  destroy(): void {
    this.product.destroy();
    this.lossScratch.destroy();
    this.losses.destroy();
    for (const t of this.outputTangents.values()) for (const m of [t.Fdot, t.seedDot]) m.buffer.destroy();
  }
}
