// The empirical NTK Gram matrix of a network on a set of n examples, nk×nk for k outputs in output-major order
// (row a·n + i is output a of example i), from one forward pass and one backward pass per output (seed e_a),
// whose sensitivities δ and layer inputs x are stacked per parametrized layer (site). Two methods, as
// neural-tangents names them:
//   structured: K = Σ_sites (Δ Δᵀ) ⊙ (c² X Xᵀ + β²), two products and a Hadamard term per site; only where every
//               trainable site has that form (dense layers): O(n²·Σ widths);
//   jacobian:   K = Σ_chunks J Jᵀ, with J's columns for a run of a site's output units (neurons, channels)
//               materialized from x and δ by the layer, a chunk at a time so that J never passes the buffer
//               limits: O(n²·parameters); any layer.
// Frozen layers do not train and do not enter the kernel. src/ntk/method.ts says which is cheaper.
import { ntkAccumulate } from '../../shaders/ntk.ts';
import { addInPlace } from '../../shaders/lincomb.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { Matrix } from '../gpu/matrix.ts';
import { dispatch, matmul } from '../kernels/ops.ts';
import type { Step } from '../gpu/step.ts';
import type { Network, Tape } from '../nn/network.ts';

interface Workspace {
  n: number;
  /** One seed per output: column a of ones. */
  seeds: Matrix[];
  /** Per site, δ of every output stacked: nk × the site's output size. */
  deltas: Matrix[];
  dd: Matrix;
  aa: Matrix;
}

export interface GramOptions {
  /** The forward pass on X has just been recorded (a training step's batch): its tape. */
  tape?: Tape;
  /** X·Xᵀ (n×n) where the caller keeps it, for the first layer's term of fixed inputs. */
  inputGram?: Matrix;
}

export class NtkGram {
  private readonly workspaces = new Map<number, Workspace>();

  constructor(
    private readonly gpu: Gpu,
    readonly net: Network,
  ) {}

  get outputs(): number {
    return this.net.outputs;
  }

  /** The forward pass (unless given), then one backward pass per output, stacking each site's δ; the sites' inputs. */
  private async sensitivities(step: Step, X: Matrix, tape: Tape | undefined): Promise<{ ws: Workspace; inputs: Matrix[]; tape: Tape }> {
    const n = X.rows;
    const ws = this.workspace(n);
    const t = tape ?? (await this.net.forward(step, X));
    if (t.X !== X) throw new RangeError('NTK: the tape given is of another batch than X');
    const inputs: Matrix[] = [];
    for (let a = 0; a < this.outputs; a++) {
      await this.net.backward(step, t, ws.seeds[a], {
        paramGrads: false,
        onSite: ({ site, x, delta }) => {
          inputs[site] = x;
          step.copy(delta.buffer, ws.deltas[site].buffer, delta.length * 4, delta.offset, a * delta.length * 4);
        },
      });
    }
    return { ws, inputs, tape: t };
  }

  private checkOut(X: Matrix, K: Matrix): void {
    const nk = X.rows * this.outputs;
    if (K.rows !== nk || K.cols !== nk) throw new RangeError(`NTK of ${X.rows} examples and ${this.outputs} outputs is ${nk}×${nk}, got K ${K.rows}×${K.cols}`);
    if (!this.net.sites.some((s) => !s.frozen)) throw new RangeError('every layer is frozen: the NTK of no parameters is zero');
  }

  /** Whether every trainable site has the structured term (otherwise only jacobian applies). */
  get structuredAvailable(): boolean {
    return this.net.sites.every((s) => s.frozen || s.structured);
  }

  /**
   * Records K for the examples X (n×d) into K (nk×nk) by the structured formula. With `tape`, the forward pass
   * on X has just been recorded; the activations stay as it made them, so a loss on X can follow.
   */
  async structured(step: Step, X: Matrix, K: Matrix, options: GramOptions = {}): Promise<Tape> {
    this.checkOut(X, K);
    const unstructured = this.net.sites.find((s) => !s.frozen && !s.structured);
    if (unstructured) throw new RangeError(`the ${unstructured.kind} layer "${unstructured.name}" has no structured NTK term: use the jacobian or matrix-free method`);
    const G = options.inputGram;
    if (G && (G.rows !== X.rows || G.cols !== X.rows)) throw new RangeError(`NTK: the input Gram must be ${X.rows}×${X.rows}, got ${G.rows}×${G.cols}`);
    const { ws, inputs, tape } = await this.sensitivities(step, X, options.tape);
    let first = true;
    for (const [i, site] of this.net.sites.entries()) {
      if (site.frozen) continue;
      await matmul(step, ws.deltas[i], ws.deltas[i], ws.dd, { transB: true });
      let aa = ws.aa;
      // The first site's term needs X·Xᵀ, which never changes for fixed inputs: callers pass it formed once.
      if (i === 0 && G && inputs[0] === X) aa = G;
      else await matmul(step, inputs[i], inputs[i], aa, { transB: true });
      await dispatch(step, ntkAccumulate, [ws.dd, aa, K], {
        n: X.rows,
        k: this.outputs,
        c2: site.layer.ntk.c ** 2,
        beta2: site.bias ? site.layer.ntk.beta ** 2 : 0,
        accumulate: !first,
      });
      first = false;
    }
    return tape;
  }

  /**
   * Records K by contracting per-example gradients, materialized at most `chunkFloats` floats at a time
   * (nk rows × a run of one site's output units).
   */
  async jacobian(step: Step, X: Matrix, K: Matrix, chunkFloats = 1 << 22, options: Pick<GramOptions, 'tape'> = {}): Promise<Tape> {
    this.checkOut(X, K);
    const { ws, inputs, tape } = await this.sensitivities(step, X, options.tape);
    const nk = X.rows * this.outputs;
    let first = true;
    await step.host.prepare([addInPlace]);
    for (const [i, site] of this.net.sites.entries()) {
      if (site.frozen) continue;
      const { units: total, weightsPerUnit } = site.layer.ntk;
      const perUnit = nk * (weightsPerUnit + (site.bias ? 1 : 0));
      const units = Math.max(1, Math.min(total, Math.floor(chunkFloats / perUnit)));
      for (let from = 0; from < total; from += units) {
        const u = Math.min(units, total - from);
        const cols = u * weightsPerUnit + (site.bias ? u : 0);
        const J = new Matrix(step.scratch(nk * cols * 4), nk, cols);
        await site.layer.ntk.perExampleGrads(step, { x: inputs[i], delta: ws.deltas[i], n: X.rows, from, units: u, J });
        if (first) {
          await matmul(step, J, J, K, { transB: true });
          first = false;
        } else {
          await matmul(step, J, J, ws.dd, { transB: true });
          step.dispatch(addInPlace, [ws.dd, K], { count: nk * nk });
        }
      }
    }
    return tape;
  }

  /** K by the structured method where every trainable site has it, else by Jacobian contraction. */
  async form(step: Step, X: Matrix, K: Matrix, options: GramOptions = {}): Promise<Tape> {
    return this.structuredAvailable ? this.structured(step, X, K, options) : this.jacobian(step, X, K, undefined, { tape: options.tape });
  }

  /** K of the examples X at the current parameters, formed (structured where it applies, else jacobian) and read back. */
  async formed(X: Matrix): Promise<Float32Array> {
    const nk = X.rows * this.outputs;
    const K = this.gpu.matrix('NTK read back', nk, nk, undefined, 'use fewer examples');
    try {
      const step = this.gpu.step('NTK read back');
      await this.form(step, X, K);
      this.gpu.submit(step);
      return await this.gpu.read(K.buffer);
    } finally {
      K.buffer.destroy();
    }
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
    ws = {
      n,
      seeds,
      deltas: this.net.sites.map((s, i) => this.gpu.matrix(`NTK Δ of site ${i}`, n * k, s.outSize, undefined, shrink)),
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
