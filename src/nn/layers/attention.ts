// The core of multi-head self-attention, between the qkv projection and the output projection (both 1×1
// convolutions, i.e. the same linear map at every token). Its input is [3D, h, w]: queries, keys and values
// (channels 0..D−1, D..2D−1, 2D..3D−1, each split into H heads of d = D/H channels, timm's order), over the
// T = h·w tokens; its output [D, h, w] is the heads' results side by side. Per example and head, with Q, K, V
// the d×T blocks (channel-major, as stored):
//   S = Qᵀ·K / sqrt(d),  P = softmax over keys (rows of S),  O = V·Pᵀ
//   backward: dV = dO·P,  dP = dOᵀ·V,  dS = P ⊙ (dP − rowsum(P ⊙ dP)),  dQ = K·dSᵀ/sqrt(d),  dK = Q·dS/sqrt(d)
//   tangent:  Ṡ = (Q̇ᵀK + QᵀK̇)/sqrt(d),  Ṗ = P ⊙ (Ṡ − rowsum(P ⊙ Ṡ)),  Ȯ = V̇·Pᵀ + V·Ṗᵀ
// Every product is one batched strided matmul over examples × heads (shaders/batched-gemm.ts) reading the
// activations in place; P is kept from the forward pass. Nonlinear: no R-operator (Hessians are refused).
import { batchedGemm, type BatchedGemmShape, type StridedOperand } from '../../../shaders/batched-gemm.ts';
import { softmaxRows, softmaxRowsLinearized } from '../../../shaders/softmax-rows.ts';
import type { Matrix } from '../../gpu/matrix.ts';
import { dispatch } from '../../kernels/ops.ts';
import type { Step } from '../../gpu/step.ts';
import type { FreeLayer, LayerBuffers } from '../layer.ts';
import type { Shape } from '../network.ts';

export class Attention implements FreeLayer {
  readonly kind = 'attention';
  readonly alias = false;
  readonly linear = false;
  readonly outShape: Shape;
  readonly buffers: Readonly<Record<string, number>>;
  private readonly dim: number;
  private readonly tokens: number;
  private readonly headDim: number;

  constructor(
    readonly name: string,
    readonly inShape: Shape,
    readonly heads: number,
  ) {
    const [c, h, w] = inShape;
    if (c % 3 !== 0 || (c / 3) % heads !== 0) throw new RangeError(`attention "${name}": ${c} input channels are not 3 × a multiple of ${heads} heads`);
    this.dim = c / 3;
    this.tokens = h * w;
    this.headDim = this.dim / heads;
    this.outShape = [this.dim, h, w];
    const square = heads * this.tokens * this.tokens;
    // P from the forward pass; two T×T temporaries per head for the derivatives.
    this.buffers = { probabilities: square, scores: square, scoresDot: square };
  }

  /** Block `part` (0: queries, 1: keys, 2: values) of the qkv input, as d×T (or T×d transposed). */
  private qkv(part: number, transposed = false): StridedOperand {
    const T = this.tokens;
    const o = { offset: part * this.dim * T, example: 3 * this.dim * T, head: this.headDim * T };
    return transposed ? { ...o, row: 1, col: T } : { ...o, row: T, col: 1 };
  }

  /** The d×T block of a head in a [D, h, w] activation (the output, or its gradient). */
  private outputBlock(transposed = false): StridedOperand {
    const T = this.tokens;
    const o = { offset: 0, example: this.dim * T, head: this.headDim * T };
    return transposed ? { ...o, row: 1, col: T } : { ...o, row: T, col: 1 };
  }

  /** A T×T block of the per-head square buffers (P, scores). */
  private square(transposed = false): StridedOperand {
    const T = this.tokens;
    const o = { offset: 0, example: this.heads * T * T, head: T * T };
    return transposed ? { ...o, row: 1, col: T } : { ...o, row: T, col: 1 };
  }

  private async gemm(s: Step, A: Matrix, B: Matrix, C: Matrix, shape: Omit<BatchedGemmShape, 'examples' | 'heads'> & { examples: number }): Promise<void> {
    await dispatch(s, batchedGemm, [A, B, C], { heads: this.heads, ...shape });
  }

  private async softmaxDerivative(s: Step, P: Matrix, g: Matrix, out: Matrix, b: number): Promise<void> {
    await dispatch(s, softmaxRowsLinearized, [P, g, out], { rows: b * this.heads * this.tokens, cols: this.tokens });
  }

  async forward(s: Step, x: Matrix, y: Matrix, buf: LayerBuffers): Promise<void> {
    const b = x.rows;
    const T = this.tokens;
    const d = this.headDim;
    const scale = 1 / Math.sqrt(d);
    await this.gemm(s, x, x, buf.scores, { examples: b, m: T, n: T, k: d, a: this.qkv(0, true), b: this.qkv(1), c: this.square(), alpha: scale, gamma: 0 });
    await dispatch(s, softmaxRows, [buf.scores, buf.probabilities], { rows: b * this.heads * T, cols: T });
    await this.gemm(s, x, buf.probabilities, y, { examples: b, m: d, n: T, k: T, a: this.qkv(2), b: this.square(true), c: this.outputBlock(), alpha: 1, gamma: 0 });
  }

  async backward(s: Step, _y: Matrix, dy: Matrix, dx: Matrix, x: Matrix, buf: LayerBuffers): Promise<void> {
    const b = x.rows;
    const T = this.tokens;
    const d = this.headDim;
    const scale = 1 / Math.sqrt(d);
    const P = buf.probabilities;
    // dV = dO·P, dP = dOᵀ·V, dS, then dQ = K·dSᵀ/√d and dK = Q·dS/√d.
    await this.gemm(s, dy, P, dx, { examples: b, m: d, n: T, k: T, a: this.outputBlock(), b: this.square(), c: this.qkv(2), alpha: 1, gamma: 0 });
    await this.gemm(s, dy, x, buf.scores, { examples: b, m: T, n: T, k: d, a: this.outputBlock(true), b: this.qkv(2), c: this.square(), alpha: 1, gamma: 0 });
    await this.softmaxDerivative(s, P, buf.scores, buf.scoresDot, b);
    await this.gemm(s, x, buf.scoresDot, dx, { examples: b, m: d, n: T, k: T, a: this.qkv(1), b: this.square(true), c: this.qkv(0), alpha: scale, gamma: 0 });
    await this.gemm(s, x, buf.scoresDot, dx, { examples: b, m: d, n: T, k: T, a: this.qkv(0), b: this.square(), c: this.qkv(1), alpha: scale, gamma: 0 });
  }

  async tangent(s: Step, _y: Matrix, xdot: Matrix, ydot: Matrix, x: Matrix, buf: LayerBuffers): Promise<void> {
    const b = x.rows;
    const T = this.tokens;
    const d = this.headDim;
    const scale = 1 / Math.sqrt(d);
    const P = buf.probabilities;
    await this.gemm(s, xdot, x, buf.scores, { examples: b, m: T, n: T, k: d, a: this.qkv(0, true), b: this.qkv(1), c: this.square(), alpha: scale, gamma: 0 });
    await this.gemm(s, x, xdot, buf.scores, { examples: b, m: T, n: T, k: d, a: this.qkv(0, true), b: this.qkv(1), c: this.square(), alpha: scale, gamma: 1 });
    await this.softmaxDerivative(s, P, buf.scores, buf.scoresDot, b);
    await this.gemm(s, xdot, P, ydot, { examples: b, m: d, n: T, k: T, a: this.qkv(2), b: this.square(true), c: this.outputBlock(), alpha: 1, gamma: 0 });
    await this.gemm(s, x, buf.scoresDot, ydot, { examples: b, m: d, n: T, k: T, a: this.qkv(2), b: this.square(true), c: this.outputBlock(), alpha: 1, gamma: 1 });
  }
}
