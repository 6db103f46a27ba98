// Exact Hessian-vector products of the MSE loss of a batch, L(θ) = (1/b)‖f(θ) − y‖²: linearize() records
// the forward pass and the loss's backward pass at the current parameters and returns the operator there;
// each product is then one forward-mode pass (J u) and the R-operator of that backward pass
// (Network.hessianVectorBackward), about twice a gradient.
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
import type { Network } from '../nn/network.ts';
import type { SymmetricOperator } from './operator.ts';

export class BatchHessian {
  readonly dim: number;
  private readonly product: GPUBuffer;
  private readonly lossScratch: GPUBuffer;
  private readonly outputTangents = new Map<number, { Fdot: Matrix; seedDot: Matrix }>();
  private readonly losses: LossHeads;

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

  /**
   * The Hessian of the batch (X, Y)'s loss at the current parameters: the forward pass and the loss's backward
   * pass (activations and δ_l) recorded into `step`, and the operator u ↦ H u that reads them.
   */
  async linearize(step: Step, X: Matrix, Y: Matrix): Promise<SymmetricOperator> {
    if (Y.rows !== X.rows || Y.cols !== this.net.outputs) throw new RangeError(`Hessian: targets must be ${X.rows}×${this.net.outputs}, got ${Y.rows}×${Y.cols}`);
    // Its own workspace: the step's tape (which the tracker's other probes read) stays valid.
    const tape = await this.net.forward(step, X, { workspace: 'hessian' });
    const { seed } = await this.losses.mse(step, tape.output, Y, this.lossScratch, 0);
    // The loss gradient itself is not wanted, only the sensitivities the R-operator reads.
    const backward = await this.net.backward(step, tape, seed, { paramGrads: false });
    const { Fdot, seedDot } = this.outputTangent(X.rows);
    return {
      dim: this.dim,
      apply: async (s: Step, u: Matrix, out: Matrix) => {
        if (u.length !== this.dim || out.length !== this.dim) throw new RangeError(`Hessian acts on ${this.dim}-vectors, got ${u.length} and ${out.length}`);
        const along = await this.net.jvp(s, tape, u.buffer, Fdot);
        await linearCombination(s, 2 / X.rows, Fdot, 0, Fdot, seedDot);
        await this.net.hessianVectorBackward(s, backward, along, seedDot, this.product);
        s.copy(this.product, out.buffer, this.dim * 4, 0, out.offset);
      },
    };
  }

  /** J u and the seed's tangent (2/b)·J u for batches of b, kept per batch size. */
  private outputTangent(b: number): { Fdot: Matrix; seedDot: Matrix } {
    let t = this.outputTangents.get(b);
    if (!t) {
      const k = this.net.outputs;
      t = { Fdot: this.gpu.matrix(`Hessian: J u (${b})`, b, k), seedDot: this.gpu.matrix(`Hessian: seed tangent (${b})`, b, k) };
      this.outputTangents.set(b, t);
    }
    return t;
  }

  destroy(): void {
    this.product.destroy();
    this.lossScratch.destroy();
    this.losses.destroy();
    for (const t of this.outputTangents.values()) for (const m of [t.Fdot, t.seedDot]) m.buffer.destroy();
  }
}
