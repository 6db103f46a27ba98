// The average gradient outer product of a network on n examples, G = (1/n) Σ_i Σ_a ∇x f_a(x_i) ∇x f_a(x_i)ᵀ
// (d×d; for k outputs the sum runs over the rows of each example's input Jacobian): one backward pass per
// output with the seed e_a gives the n×d input gradients, and G accumulates their Gram matrices.
import { addInPlace } from '../../shaders/lincomb.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { Matrix } from '../gpu/matrix.ts';
import { matmul } from '../kernels/ops.ts';
import type { Step } from '../gpu/step.ts';
import type { Network, Tape } from '../nn/network.ts';

export class NetworkAgop {
  private readonly seeds: Matrix[];
  private readonly inputGrad: Matrix;
  private readonly term: Matrix;

  constructor(
    private readonly gpu: Gpu,
    private readonly net: Network,
    readonly n: number,
  ) {
    const k = net.outputs;
    const d = net.inputSize;
    this.seeds = Array.from({ length: k }, (_, a) => {
      const s = new Float32Array(n * k);
      for (let i = 0; i < n; i++) s[i * k + a] = 1;
      return gpu.matrix(`AGOP seed ${a}`, n, k, s);
    });
    this.inputGrad = gpu.matrix('AGOP input gradients', n, d);
    this.term = gpu.matrix('AGOP term', d, d);
  }

  /**
   * Records G for the n×d examples X into G (d×d): a forward pass (unless `tape`, one just recorded on X at the
   * current parameters), then k backward passes.
   */
  async record(step: Step, X: Matrix, G: Matrix, options: { tape?: Tape } = {}): Promise<void> {
    const d = this.net.inputSize;
    if (X.rows !== this.n) throw new RangeError(`AGOP: built for ${this.n} examples, X has ${X.rows}`);
    if (G.rows !== d || G.cols !== d) throw new RangeError(`AGOP: G must be ${d}×${d}, got ${G.rows}×${G.cols}`);
    const tape = options.tape ?? (await this.net.forward(step, X));
    await step.host.prepare([addInPlace]);
    for (const [a, seed] of this.seeds.entries()) {
      await this.net.backward(step, tape, seed, { paramGrads: false, inputGrad: this.inputGrad });
      await matmul(step, this.inputGrad, this.inputGrad, a === 0 ? G : this.term, { transA: true, alpha: 1 / this.n });
      if (a > 0) step.dispatch(addInPlace, [this.term, G], { count: d * d });
    }
  }

  /** G on the host in float64, for a reference network whose AGOP stands in for the EGOP of real data. */
  async compute(X: Matrix): Promise<Float64Array> {
    const d = this.net.inputSize;
    const G = this.gpu.matrix('reference AGOP', d, d);
    const step = this.gpu.step('reference AGOP');
    await this.record(step, X, G);
    this.gpu.submit(step);
    const g = Float64Array.from(await this.gpu.read(G.buffer));
    G.buffer.destroy();
    return g;
  }

  destroy(): void {
    for (const m of [...this.seeds, this.inputGrad, this.term]) m.buffer.destroy();
  }
}
