// A fully connected ReLU network on the GPU: the flat parameter and gradient buffers, and the forward and
// backward passes as kernel launches recorded into a caller's step (so a training step is one encoder).
//
//   forward, layer l:  A_l = act(c_l · A_{l-1} · W_lᵀ + β_l · b_l)            (A_0 = X, b rows)
//   backward, seed S = ∂(Σ S ⊙ f)/∂f:  δ_L = S,
//     ∇W_l = c_l · δ_lᵀ · A_{l-1},  ∇b_l = β_l · 1ᵀ δ_l,
//     δ_{l-1} = (c_l · δ_l · W_l) ⊙ 1[A_{l-1} > 0],  and ∇X = c_1 · δ_1 · W_1 for the input layer.
// With S = (2/b)(f − y) the gradients are those of the MSE loss L = (1/b)‖f − y‖²; with S = e_j they are
// the per-example Jacobian rows that the AGOP needs.
import { softmaxCrossEntropy } from '../../shaders/softmax-xent.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { Matrix } from '../gpu/matrix.ts';
import { activationBackward, biasActivation, linearCombination, matmul, reduce } from '../gpu/ops.ts';
import type { Step } from '../gpu/step.ts';
import { initParams, mlpLayout, type LayerLayout, type MlpConfig, type ParamLayout } from './layout.ts';

/** Buffers for one batch size: activations, sensitivities and the loss's residual. */
interface Workspace {
  b: number;
  /** pre[l]: c·A_{l-1}·W_lᵀ before bias and activation. */
  pre: Matrix[];
  /** acts[l]: the output of layer l. */
  acts: Matrix[];
  /** delta[l]: ∂/∂(layer l's pre-activation), b×fanOut. */
  delta: Matrix[];
  /** back[l]: c_l · δ_l · W_l, b×fanIn, before the previous layer's activation derivative (none for l = 0). */
  back: (Matrix | null)[];
  ones: Matrix;
  residual: Matrix;
  /** Per-example cross-entropy and correctness (b×1). */
  rowLoss: Matrix;
  rowCorrect: Matrix;
}

/** Buffers of the forward-mode pass (jvp) for one batch size, b×fanOut per layer. */
interface TangentWorkspace {
  fromWeights: Matrix[];
  fromInputs: Matrix[];
  sum: Matrix[];
  pre: Matrix[];
  tangent: Matrix[];
  /** R{δ_l} of the second-order backward pass, b×fanOut. */
  rDelta: Matrix[];
}

/** Weight- and input-shaped temporaries of the second-order backward pass, per layer. */
interface SecondOrderWorkspace {
  weightA: Matrix[];
  weightB: Matrix[];
  backA: (Matrix | null)[];
  backB: (Matrix | null)[];
  backSum: (Matrix | null)[];
}

export class Mlp {
  readonly layout: ParamLayout;
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  private readonly workspaces = new Map<number, Workspace>();
  private readonly tangentWorkspaces = new Map<number, TangentWorkspace>();
  private readonly secondOrderWorkspaces = new Map<number, SecondOrderWorkspace>();

  constructor(
    readonly gpu: Gpu,
    readonly config: MlpConfig,
    initial?: Float32Array,
  ) {
    this.layout = mlpLayout(config);
    const size = this.layout.size * 4;
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const shrink = 'use narrower or fewer layers';
    this.params = gpu.createBuffer({ label: 'parameters', size, usage, shrink });
    this.grads = gpu.createBuffer({ label: 'gradients', size, usage, shrink });
    const p = initial ?? initParams(config, this.layout);
    if (p.length !== this.layout.size) throw new RangeError(`parameters: ${p.length} values for a layout of ${this.layout.size}`);
    gpu.write(this.params, p);
  }

  get depth(): number {
    return this.layout.layers.length;
  }

  weight(l: number): Matrix {
    const L = this.layout.layers[l];
    return new Matrix(this.params, L.fanOut, L.fanIn, L.weightOffset * 4);
  }

  bias(l: number): Matrix | null {
    const L = this.layout.layers[l];
    return L.biasOffset < 0 ? null : new Matrix(this.params, 1, L.fanOut, L.biasOffset * 4);
  }

  /** Layer l's weight block of a parameter-shaped buffer (the gradients by default). */
  gradWeight(l: number, buffer: GPUBuffer = this.grads): Matrix {
    const L = this.layout.layers[l];
    return new Matrix(buffer, L.fanOut, L.fanIn, L.weightOffset * 4);
  }

  gradBias(l: number, buffer: GPUBuffer = this.grads): Matrix | null {
    const L = this.layout.layers[l];
    return L.biasOffset < 0 ? null : new Matrix(buffer, 1, L.fanOut, L.biasOffset * 4);
  }

  /** The whole parameter vector as a size×1 matrix (for perturbing it along a direction). */
  paramVector(buffer: GPUBuffer = this.params): Matrix {
    return new Matrix(buffer, this.layout.size, 1);
  }

  /**
   * δ_l = ∂(Σ S ⊙ f)/∂h_l of the last backward pass at batch size b (b×fanOut), for l below the output
   * layer; the output layer's δ is the seed itself.
   */
  sensitivity(b: number, l: number): Matrix {
    if (l < 0 || l >= this.depth - 1) throw new RangeError(`sensitivity: layer ${l} is not a hidden layer (0..${this.depth - 2})`);
    return this.workspace(b).delta[l];
  }

  /** f − y of the last mse() at batch size b (b×k). */
  residual(b: number): Matrix {
    return this.workspace(b).residual;
  }

  /** The output of layer l for the last forward pass at batch size b (b×fanOut). */
  activation(b: number, l: number): Matrix {
    return this.workspace(b).acts[l];
  }

  /** Records the forward pass of a b×d batch; returns the b×k output. */
  async forward(step: Step, X: Matrix): Promise<Matrix> {
    this.checkInput(X);
    const ws = this.workspace(X.rows);
    let A = X;
    for (const L of this.layout.layers) {
      await matmul(step, A, this.weight(L.index), ws.pre[L.index], { transB: true, alpha: L.weightScale });
      await biasActivation(step, ws.pre[L.index], this.bias(L.index), ws.acts[L.index], L.activation, { biasScale: L.biasScale });
      A = ws.acts[L.index];
    }
    return A;
  }

  /**
   * Records the backward pass for the batch X of the last forward pass and an output seed S (b×k): writes
   * ∂(Σ S ⊙ f)/∂θ into the gradient buffer (frozen layers are left at zero; none with paramGrads: false,
   * for callers that want only the sensitivities) and, when `inputGrad` is given, ∂(Σ S ⊙ f)/∂X (b×d).
   * `into` names another parameter-shaped buffer for the parameter gradients, so that diagnostics recorded
   * between a training step's backward pass and its update leave the training gradients alone.
   */
  async backward(step: Step, X: Matrix, seed: Matrix, inputGrad?: Matrix, options: { paramGrads?: boolean; into?: GPUBuffer } = {}): Promise<void> {
    const paramGrads = options.paramGrads ?? true;
    const into = options.into ?? this.grads;
    if (into.size < this.layout.size * 4) throw new RangeError(`backward: "${into.label}" holds ${into.size / 4} values, the parameters ${this.layout.size}`);
    this.checkInput(X);
    const ws = this.workspace(X.rows);
    const k = this.config.outputs;
    if (seed.rows !== X.rows || seed.cols !== k) throw new RangeError(`backward: seed must be ${X.rows}×${k}, got ${seed.rows}×${seed.cols}`);
    if (inputGrad && (inputGrad.rows !== X.rows || inputGrad.cols !== X.cols)) {
      throw new RangeError(`backward: inputGrad must be ${X.rows}×${X.cols}, got ${inputGrad.rows}×${inputGrad.cols}`);
    }
    let delta = seed;
    for (let l = this.depth - 1; l >= 0; l--) {
      const L: LayerLayout = this.layout.layers[l];
      const A = l === 0 ? X : ws.acts[l - 1];
      if (!L.frozen && paramGrads) {
        await matmul(step, delta, A, this.gradWeight(l, into), { transA: true, alpha: L.weightScale });
        const gb = this.gradBias(l, into);
        if (gb) await matmul(step, ws.ones, delta, gb, { alpha: L.biasScale });
      }
      if (l === 0) {
        if (inputGrad) await matmul(step, delta, this.weight(0), inputGrad, { alpha: L.weightScale });
        break;
      }
      const back = ws.back[l]!;
      await matmul(step, delta, this.weight(l), back, { alpha: L.weightScale });
      await activationBackward(step, back, ws.acts[l - 1], ws.delta[l - 1], 'relu');
      delta = ws.delta[l - 1];
    }
  }

  /**
   * Records the forward-mode product Ḟ = J u = Σ_θ (∂f/∂θ) u_θ for the batch X of the last forward pass and
   * a parameter-shaped tangent u (frozen layers contribute nothing, as they do not enter the NTK), into
   * out (b×k). Layer by layer:  ḣ_l = c_l (A_{l-1} U_lᵀ + Ȧ_{l-1} W_lᵀ) + β_l u_{b,l},  Ȧ_l = 1[A_l > 0] ⊙ ḣ_l.
   */
  async jvp(step: Step, X: Matrix, tangent: GPUBuffer, out: Matrix): Promise<void> {
    this.checkInput(X);
    const b = X.rows;
    const k = this.config.outputs;
    if (out.rows !== b || out.cols !== k) throw new RangeError(`jvp: out must be ${b}×${k}, got ${out.rows}×${out.cols}`);
    if (tangent.size < this.layout.size * 4) throw new RangeError(`jvp: "${tangent.label}" holds ${tangent.size / 4} values, the parameters ${this.layout.size}`);
    const ws = this.workspace(b);
    const tw = this.tangentWorkspace(b);
    // Ȧ of the previous layer, or null while it is zero (the input, and everything below trainable layers).
    let prev: Matrix | null = null;
    for (const L of this.layout.layers) {
      const l = L.index;
      const last = l === this.depth - 1;
      const A = l === 0 ? X : ws.acts[l - 1];
      const terms: Matrix[] = [];
      if (!L.frozen) {
        await matmul(step, A, this.gradWeight(l, tangent), tw.fromWeights[l], { transB: true, alpha: L.weightScale });
        terms.push(tw.fromWeights[l]);
      }
      if (prev) {
        await matmul(step, prev, this.weight(l), tw.fromInputs[l], { transB: true, alpha: L.weightScale });
        terms.push(tw.fromInputs[l]);
      }
      const dest = last ? out : tw.pre[l];
      const biasTangent = L.frozen ? null : this.gradBias(l, tangent);
      if (terms.length === 0) {
        if (last) await linearCombination(step, 0, ws.acts[l], 0, ws.acts[l], out);
        prev = null;
        continue;
      }
      let h = terms[0];
      if (terms.length === 2) {
        await linearCombination(step, 1, terms[0], 1, terms[1], tw.sum[l]);
        h = tw.sum[l];
      }
      await biasActivation(step, h, biasTangent, dest, 'identity', { biasScale: L.biasScale });
      if (!last) await activationBackward(step, dest, ws.acts[l], tw.tangent[l], 'relu');
      prev = tw.tangent[l];
    }
  }

  /**
   * The exact Hessian-vector product of the MSE loss L = (1/b)‖f − y‖² of the batch X, by Pearlmutter's
   * R-operator: the derivative of the backward pass along the tangent u, with the ReLU masks held fixed
   * (the Hessian almost everywhere, as autograd's double backward gives it). Needs, in this order at the
   * current parameters: forward(X), mse (its seed S), backward(X, S, …), and jvp(X, u, Ḟ); then writes
   * H u into `into` (parameter-shaped; frozen layers and padding are not written). With Ṡ = (2/b)·Ḟ:
   *   R{δ_L} = Ṡ;  R{∇W_l} = c_l (R{δ_l}ᵀ A_{l-1} + δ_lᵀ Ȧ_{l-1});  R{∇b_l} = β_l 1ᵀ R{δ_l};
   *   R{δ_{l-1}} = c_l (R{δ_l} W_l + δ_l U_l) ⊙ 1[A_{l-1} > 0].
   */
  async hessianVectorBackward(step: Step, X: Matrix, tangent: GPUBuffer, seedDot: Matrix, into: GPUBuffer): Promise<void> {
    this.checkInput(X);
    const b = X.rows;
    const ws = this.workspace(b);
    const tw = this.tangentWorkspace(b);
    const so = this.secondOrderWorkspace(b);
    let rDelta = seedDot;
    for (let l = this.depth - 1; l >= 0; l--) {
      const L = this.layout.layers[l];
      const A = l === 0 ? X : ws.acts[l - 1];
      const Adot = l === 0 ? null : tw.tangent[l - 1];
      const delta = ws.delta[l];
      if (!L.frozen) {
        const gW = this.gradWeight(l, into);
        if (Adot) {
          await matmul(step, rDelta, A, so.weightA[l], { transA: true, alpha: L.weightScale });
          await matmul(step, delta, Adot, so.weightB[l], { transA: true, alpha: L.weightScale });
          await linearCombination(step, 1, so.weightA[l], 1, so.weightB[l], gW);
        } else {
          await matmul(step, rDelta, A, gW, { transA: true, alpha: L.weightScale });
        }
        const gb = this.gradBias(l, into);
        if (gb) await matmul(step, ws.ones, rDelta, gb, { alpha: L.biasScale });
      }
      if (l === 0) break;
      await matmul(step, rDelta, this.weight(l), so.backA[l]!, { alpha: L.weightScale });
      let back = so.backA[l]!;
      if (!L.frozen) {
        await matmul(step, delta, this.gradWeight(l, tangent), so.backB[l]!, { alpha: L.weightScale });
        await linearCombination(step, 1, so.backA[l]!, 1, so.backB[l]!, so.backSum[l]!);
        back = so.backSum[l]!;
      }
      await activationBackward(step, back, ws.acts[l - 1], tw.rDelta[l - 1], 'relu');
      rDelta = tw.rDelta[l - 1];
    }
  }

  /**
   * Records the MSE loss of the last forward pass against targets Y (b×k): writes ‖f − y‖² (not yet divided
   * by b) to out[slot] and returns the seed (2/b)(f − y) whose backward pass gives ∇L.
   */
  async mse(step: Step, Y: Matrix, out: GPUBuffer, slot: number): Promise<Matrix> {
    const ws = this.workspace(Y.rows);
    const F = ws.acts[this.depth - 1];
    await linearCombination(step, 1, F, -1, Y, ws.residual);
    await reduce(step, 'sumsq', ws.residual, null, out, slot);
    const seed = ws.delta[this.depth - 1];
    await linearCombination(step, 2 / Y.rows, ws.residual, 0, ws.residual, seed);
    return seed;
  }

  /**
   * Records the softmax cross-entropy of the last forward pass against one-hot targets Y (b×k): writes the
   * summed loss to out[lossSlot] and the number of correct predictions to out[correctSlot] (divide both by
   * b), and returns the seed ∂L/∂f = (softmax(f) − y)/b of the mean loss.
   */
  async crossEntropy(step: Step, Y: Matrix, out: GPUBuffer, lossSlot: number, correctSlot: number): Promise<Matrix> {
    const ws = this.workspace(Y.rows);
    const k = this.config.outputs;
    if (Y.cols !== k) throw new RangeError(`cross-entropy: targets have ${Y.cols} columns, the network ${k} outputs`);
    const seed = ws.delta[this.depth - 1];
    await step.host.prepare([softmaxCrossEntropy]);
    step.dispatch(softmaxCrossEntropy, [ws.acts[this.depth - 1], Y, ws.rowLoss, ws.rowCorrect, seed], { rows: Y.rows, classes: k });
    await reduce(step, 'sum', ws.rowLoss, null, out, lossSlot);
    await reduce(step, 'sum', ws.rowCorrect, null, out, correctSlot);
    return seed;
  }

  async readParams(): Promise<Float32Array> {
    return this.gpu.read(this.params);
  }

  async readGrads(): Promise<Float32Array> {
    return this.gpu.read(this.grads);
  }

  destroy(): void {
    this.params.destroy();
    this.grads.destroy();
    for (const ws of this.workspaces.values()) {
      for (const m of [...ws.pre, ...ws.acts, ...ws.delta, ...ws.back, ws.ones, ws.residual, ws.rowLoss, ws.rowCorrect]) m?.buffer.destroy();
    }
    this.workspaces.clear();
    for (const tw of this.tangentWorkspaces.values()) for (const m of Object.values(tw).flat()) m.buffer.destroy();
    this.tangentWorkspaces.clear();
    for (const so of this.secondOrderWorkspaces.values()) for (const m of Object.values(so).flat()) m?.buffer.destroy();
    this.secondOrderWorkspaces.clear();
  }

  private checkInput(X: Matrix): void {
    if (X.cols !== this.config.inputDim) throw new RangeError(`the network takes ${this.config.inputDim} inputs per example, X has ${X.cols} columns`);
    if (X.rows < 1) throw new RangeError('the batch is empty');
  }

  private tangentWorkspace(b: number): TangentWorkspace {
    let tw = this.tangentWorkspaces.get(b);
    if (tw) return tw;
    const layers = this.layout.layers;
    const m = (label: string) => layers.map((L) => this.gpu.matrix(`${label} ${L.index} (batch ${b})`, b, L.fanOut, undefined, 'use a smaller batch or narrower layers'));
    tw = {
      fromWeights: m('tangent from weights'),
      fromInputs: m('tangent from inputs'),
      sum: m('tangent sum'),
      pre: m('tangent pre-activation'),
      tangent: m('tangent'),
      rDelta: m('R{delta}'),
    };
    this.tangentWorkspaces.set(b, tw);
    return tw;
  }

  private secondOrderWorkspace(b: number): SecondOrderWorkspace {
    let so = this.secondOrderWorkspaces.get(b);
    if (so) return so;
    const layers = this.layout.layers;
    const shrink = 'use a smaller batch or narrower layers';
    const weights = (label: string) => layers.map((L) => this.gpu.matrix(`${label} ${L.index}`, L.fanOut, L.fanIn, undefined, shrink));
    const backs = (label: string) => layers.map((L) => (L.index === 0 ? null : this.gpu.matrix(`${label} ${L.index} (batch ${b})`, b, L.fanIn, undefined, shrink)));
    so = { weightA: weights('R{grad W} term A'), weightB: weights('R{grad W} term B'), backA: backs('R{back} term A'), backB: backs('R{back} term B'), backSum: backs('R{back}') };
    this.secondOrderWorkspaces.set(b, so);
    return so;
  }

  private workspace(b: number): Workspace {
    let ws = this.workspaces.get(b);
    if (ws) return ws;
    const shrink = 'use a smaller batch or narrower layers';
    const m = (label: string, rows: number, cols: number, data?: Float32Array) => this.gpu.matrix(`${label} (batch ${b})`, rows, cols, data, shrink);
    const layers = this.layout.layers;
    ws = {
      b,
      pre: layers.map((L) => m(`pre-activation ${L.index}`, b, L.fanOut)),
      acts: layers.map((L) => m(`activation ${L.index}`, b, L.fanOut)),
      delta: layers.map((L) => m(`delta ${L.index}`, b, L.fanOut)),
      back: layers.map((L) => (L.index === 0 ? null : m(`back ${L.index}`, b, L.fanIn))),
      ones: m('ones', 1, b, new Float32Array(b).fill(1)),
      residual: m('residual', b, this.config.outputs),
      rowLoss: m('per-example loss', b, 1),
      rowCorrect: m('per-example correct', b, 1),
    };
    this.workspaces.set(b, ws);
    return ws;
  }
}
