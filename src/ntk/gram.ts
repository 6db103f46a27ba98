// The empirical NTK Gram matrix of a fully connected network on a set of n examples, nk×nk for k outputs
// in output-major order (row a·n + i is output a of example i), by two methods that check each other:
//   structured: K = Σ_l (Δ_l Δ_lᵀ) ⊙ (c_l² A_{l-1} A_{l-1}ᵀ + β_l²) from the batch's activations A and
//               sensitivities Δ (one backward pass per output): two products and a Hadamard term per layer;
//   jacobian:   K = Σ_chunks J Jᵀ from per-example gradients materialized a chunk of parameters at a time,
//               so that J never passes the buffer limits. O(n²·parameters): the check, not the workhorse.
// Frozen layers do not train and do not enter the kernel.
import { ntkAccumulate, perExampleGradients, chunkColumns } from '../../shaders/ntk.ts';
import { addInPlace } from '../../shaders/lincomb.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { Matrix } from '../gpu/matrix.ts';
import { matmul } from '../gpu/ops.ts';
import type { Step } from '../gpu/step.ts';
import type { Mlp } from '../nn/mlp.ts';

interface Workspace {
  n: number;
  /** One seed per output: column a of ones. */
  seeds: Matrix[];
  /** Stacked sensitivities per layer, nk×fanOut (the output layer's is the seeds stacked). */
  deltas: Matrix[];
  dd: Matrix;
  aa: Matrix;
}

export class NtkGram {
  private readonly workspaces = new Map<number, Workspace>();

  constructor(
    private readonly gpu: Gpu,
    readonly net: Mlp,
  ) {}

  get outputs(): number {
    return this.net.config.outputs;
  }

  /**
   * Records the forward pass (unless `forwardDone`: the network's last forward pass at this batch size was
   * on X with the current parameters) and one backward pass per output, stacking each layer's sensitivities.
   */
  private async sensitivities(step: Step, X: Matrix, forwardDone: boolean): Promise<Workspace> {
    const n = X.rows;
    const k = this.outputs;
    const ws = this.workspace(n);
    if (!forwardDone) await this.net.forward(step, X);
    const L = this.net.depth;
    for (let a = 0; a < k; a++) {
      await this.net.backward(step, X, ws.seeds[a], undefined, { paramGrads: false });
      for (let l = 0; l < L - 1; l++) {
        const d = this.net.sensitivity(n, l);
        step.copy(d.buffer, ws.deltas[l].buffer, d.length * 4, d.offset, a * d.length * 4);
      }
    }
    return ws;
  }

  private checkOut(X: Matrix, K: Matrix): void {
    const nk = X.rows * this.outputs;
    if (K.rows !== nk || K.cols !== nk) throw new RangeError(`NTK of ${X.rows} examples and ${this.outputs} outputs is ${nk}×${nk}, got K ${K.rows}×${K.cols}`);
    if (!this.net.layout.layers.some((l) => !l.frozen)) throw new RangeError('every layer is frozen: the NTK of no parameters is zero');
  }

  /**
   * Records K for the examples X (n×d) into K (nk×nk) by the structured formula. `forwardDone` skips the
   * forward pass when the caller has just run it on X (a training step's batch); the activations are left
   * as that forward pass made them, so a loss on X can follow without another one. `inputGram` is X·Xᵀ
   * (n×n) where the caller keeps it, for inputs that do not change.
   */
  async structured(step: Step, X: Matrix, K: Matrix, options: { forwardDone?: boolean; inputGram?: Matrix } = {}): Promise<void> {
    this.checkOut(X, K);
    const G = options.inputGram;
    if (G && (G.rows !== X.rows || G.cols !== X.rows)) throw new RangeError(`NTK: the input Gram must be ${X.rows}×${X.rows}, got ${G.rows}×${G.cols}`);
    const ws = await this.sensitivities(step, X, options.forwardDone ?? false);
    let first = true;
    for (const layer of this.net.layout.layers) {
      if (layer.frozen) continue;
      const l = layer.index;
      await matmul(step, ws.deltas[l], ws.deltas[l], ws.dd, { transB: true });
      let aa = ws.aa;
      // The first layer's term needs X·Xᵀ, which never changes for fixed inputs: callers pass it formed once.
      if (l === 0 && G) aa = G;
      else {
        const A = l === 0 ? X : this.net.activation(X.rows, l - 1);
        await matmul(step, A, A, aa, { transB: true });
      }
      await step.host.prepare([ntkAccumulate]);
      step.dispatch(ntkAccumulate, [ws.dd, aa, K], {
        n: X.rows,
        k: this.outputs,
        c2: layer.weightScale ** 2,
        beta2: layer.biasScale ** 2,
        accumulate: !first,
      });
      first = false;
    }
  }

  /** K of the examples X at the current parameters, formed by the structured method and read back. */
  async formed(X: Matrix): Promise<Float32Array> {
    const nk = X.rows * this.outputs;
    const K = this.gpu.matrix('NTK read back', nk, nk, undefined, 'use fewer examples');
    try {
      const step = this.gpu.step('NTK read back');
      await this.structured(step, X, K);
      this.gpu.submit(step);
      return await this.gpu.read(K.buffer);
    } finally {
      K.buffer.destroy();
    }
  }

  /**
   * Records K by contracting per-example gradients, materialized at most `chunkFloats` floats at a time
   * (nk rows × a chunk of one layer's parameters).
   */
  async jacobian(step: Step, X: Matrix, K: Matrix, chunkFloats = 1 << 22): Promise<void> {
    this.checkOut(X, K);
    const ws = await this.sensitivities(step, X, false);
    const nk = X.rows * this.outputs;
    let first = true;
    for (const layer of this.net.layout.layers) {
      if (layer.frozen) continue;
      const l = layer.index;
      const A = l === 0 ? X : this.net.activation(X.rows, l - 1);
      const perUnit = nk * (layer.fanIn + (layer.biasScale !== 0 ? 1 : 0));
      const units = Math.max(1, Math.min(layer.fanOut, Math.floor(chunkFloats / perUnit)));
      for (let r0 = 0; r0 < layer.fanOut; r0 += units) {
        const shape = { rows: nk, n: X.rows, fanIn: layer.fanIn, fanOut: layer.fanOut, r0, units: Math.min(units, layer.fanOut - r0), c: layer.weightScale, beta: layer.biasScale };
        const cols = chunkColumns(shape);
        const J = this.scratchMatrix(step, nk, cols);
        await step.host.prepare([perExampleGradients, addInPlace]);
        step.dispatch(perExampleGradients, [ws.deltas[l], A, J], shape);
        if (first) {
          await matmul(step, J, J, K, { transB: true });
          first = false;
        } else {
          await matmul(step, J, J, ws.dd, { transB: true });
          step.dispatch(addInPlace, [ws.dd, K], { count: nk * nk });
        }
      }
    }
  }

  private scratchMatrix(step: Step, rows: number, cols: number): Matrix {
    return new Matrix(step.scratch(rows * cols * 4), rows, cols);
  }

  private workspace(n: number): Workspace {
    let ws = this.workspaces.get(n);
    if (ws) return ws;
    const k = this.outputs;
    const shrink = 'track the NTK of fewer examples';
    const seeds = Array.from({ length: k }, (_, a) => {
      const s = new Float32Array(n * k);
      for (let i = 0; i < n; i++) s[i * k + a] = 1;
      return this.gpu.matrix(`NTK seed ${a}`, n, k, s, shrink);
    });
    const stacked = new Float32Array(n * k * k);
    for (let a = 0; a < k; a++) for (let i = 0; i < n; i++) stacked[(a * n + i) * k + a] = 1;
    const deltas = this.net.layout.layers.map((l) =>
      l.index === this.net.depth - 1 ? this.gpu.matrix('NTK output sensitivities', n * k, k, stacked, shrink) : this.gpu.matrix(`NTK Δ ${l.index}`, n * k, l.fanOut, undefined, shrink),
    );
    ws = {
      n,
      seeds,
      deltas,
      dd: this.gpu.matrix('NTK ΔΔᵀ', n * k, n * k, undefined, shrink),
      aa: this.gpu.matrix('NTK AAᵀ', n, n, undefined, shrink),
    };
    this.workspaces.set(n, ws);
    return ws;
  }

  destroy(): void {
    for (const ws of this.workspaces.values()) for (const m of [...ws.seeds, ...ws.deltas, ws.dd, ws.aa]) m.buffer.destroy();
    this.workspaces.clear();
  }
}
