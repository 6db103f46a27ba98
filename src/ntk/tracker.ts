// Spectral tracking during training, recorded into the training step's own encoder (before the update, so
// every quantity belongs to the parameters the step's loss was measured at) and written to the step's row
// of the metrics buffer: nothing is read back beyond the runner's periodic readback.
//   batch: λ_max of the batch's NTK, hence η_crit(batch) = b / λ_max (scalar output; nk·… for k outputs,
//          the convention is η_crit = n/λ_max(K) with n examples);
//   set:   λ_max of a fixed set's NTK (the first `examples` training examples) and the split of that set's
//          loss into its top eigendirection and the rest: L≤1 = (1/n)(u₁ᵀ r)², L>1 = L − L≤1 (paper eq. 2);
//   agop:  the alignment cos(G, G*) of the network's AGOP on the set with the task's true EGOP.
// λ comes from a fixed number of warm-started power iterations per tracked step (`iterations`).
import { addInPlace } from '../../shaders/lincomb.ts';
import { transpose } from '../../shaders/transpose.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { Matrix } from '../gpu/matrix.ts';
import { matmul, reduce } from '../gpu/ops.ts';
import type { Step } from '../gpu/step.ts';
import type { Mlp } from '../nn/mlp.ts';
import { integerAtLeast } from '../util/validate.ts';
import { NtkGram } from './gram.ts';
import { PowerIteration } from './spectrum.ts';

export interface TrackingConfig {
  /** λ_max and η_crit of each step's batch. */
  batch?: { every?: number; iterations?: number };
  /** λ_max, L≤1 and L>1 on a fixed set of the first `examples` training examples. */
  set?: { examples: number; every?: number; iterations?: number };
  /** AGOP alignment with the true EGOP on the same set (synthetic tasks). */
  agop?: { every?: number };
  /**
   * The student report's AdaGrad diagnostics: s_t = min over trainable parameters of sqrt(Σ_steps g²), the
   * largest effective rate η/s_t, and (with `set`) the bound s_t·n/λ_max(K) on AdaGrad's critical rate (the
   * report's 2·s_t/λ_max(H), with GD's critical rate 2/λ_max(H) = n/λ_max(K) in this lab's conventions).
   */
  adagrad?: { every?: number };
}

/** What the tracker needs of the optimizer for the AdaGrad diagnostics. */
export interface AdagradState {
  sum: GPUBuffer;
  tensors: { offset: number; count: number }[];
}

/** Slots of a step's metrics row: the runner's two, then the tracker's. */
export const SLOT = { loss: 0, correct: 1, lambdaBatch: 2, lambdaSet: 3, setLoss: 4, topProjection: 5, agopDot: 6, agopNorm: 7, adagradMin: 8 } as const;
export const METRIC_SLOTS = 10;

export function validateTracking(t: TrackingConfig | undefined, trainSize?: number): void {
  if (!t) return;
  const every = (path: string, v: unknown) => v !== undefined && integerAtLeast(path, v, 1);
  every('tracking.batch.every', t.batch?.every);
  every('tracking.batch.iterations', t.batch?.iterations);
  every('tracking.set.every', t.set?.every);
  every('tracking.set.iterations', t.set?.iterations);
  every('tracking.agop.every', t.agop?.every);
  every('tracking.adagrad.every', t.adagrad?.every);
  if (t.set) {
    every('tracking.set.examples', t.set.examples);
    if (t.set.examples === undefined) throw new RangeError('tracking.set.examples must be given (e.g. 128)');
    if (trainSize !== undefined && t.set.examples > trainSize) throw new RangeError(`tracking.set.examples ${t.set.examples} is more than the ${trainSize} training examples`);
  }
  if (t.agop && !t.set) throw new RangeError('tracking.agop needs tracking.set: the AGOP is measured on the tracked set');
}

const due = (t: number, every = 1) => t % every === 0;

export type TrackedField = 'lambdaBatch' | 'etaCrit' | 'lambda' | 'setLoss' | 'lossTop' | 'lossRest' | 'alignment' | 'adagradS' | 'adagradRate' | 'adagradBound';

export class Tracker {
  private readonly gram: NtkGram;
  private readonly batchPower = new Map<number, { power: PowerIteration; K: Matrix }>();
  private readonly set?: { X: Matrix; Y: Matrix; n: number; power: PowerIteration; K: Matrix; residual: Matrix };
  private readonly agop?: { G: Matrix; Ga: Matrix; Gstar: Matrix; normStar: number; seeds: Matrix[]; inputGrad: Matrix };

  constructor(
    private readonly gpu: Gpu,
    private readonly net: Mlp,
    readonly config: TrackingConfig,
    setData: { x: Float32Array; y: Float32Array; d: number; k: number } | null,
    egop: Float64Array | undefined,
    private readonly adagradState: AdagradState | null = null,
  ) {
    if (config.adagrad && !adagradState) throw new RangeError('tracking.adagrad needs the optimizer "adagrad"');
    this.gram = new NtkGram(gpu, net);
    const k = net.config.outputs;
    if (config.set && setData) {
      const n = config.set.examples;
      const nk = n * k;
      this.set = {
        X: gpu.matrix('tracked set inputs', n, setData.d, setData.x.subarray(0, n * setData.d)),
        Y: gpu.matrix('tracked set targets', n, k, setData.y.subarray(0, n * k)),
        n,
        power: new PowerIteration(gpu, nk, 1),
        K: gpu.matrix('tracked set NTK', nk, nk, undefined, 'track fewer examples'),
        residual: gpu.matrix('tracked set residual (output-major)', nk, 1),
      };
    }
    if (config.agop) {
      if (!egop) throw new RangeError('tracking.agop needs a task with a known true EGOP (the synthetic tasks)');
      const d = net.config.inputDim;
      const n = config.set!.examples;
      const seeds = Array.from({ length: k }, (_, a) => {
        const s = new Float32Array(n * k);
        for (let i = 0; i < n; i++) s[i * k + a] = 1;
        return gpu.matrix(`AGOP seed ${a}`, n, k, s);
      });
      let normStar = 0;
      for (const v of egop) normStar += v * v;
      this.agop = {
        G: gpu.matrix('AGOP', d, d),
        Ga: gpu.matrix('AGOP term', d, d),
        Gstar: gpu.matrix('true EGOP', d, d, Float32Array.from(egop)),
        normStar: Math.sqrt(normStar),
        seeds,
        inputGrad: gpu.matrix('input gradients', n, d),
      };
    }
  }

  /**
   * Records the due tracking of step t into out[row·METRIC_SLOTS + slot]. X is the step's batch, whose
   * forward pass the training step has just run at the current parameters (before the update).
   */
  async record(step: Step, t: number, X: Matrix, out: GPUBuffer, row: number): Promise<void> {
    const base = row * METRIC_SLOTS;
    const k = this.net.config.outputs;
    const b = this.config.batch;
    if (b && due(t, b.every)) {
      const nk = X.rows * k;
      let entry = this.batchPower.get(X.rows);
      if (!entry) {
        entry = { power: new PowerIteration(this.gpu, nk, 2), K: this.gpu.matrix(`batch NTK (${X.rows})`, nk, nk) };
        this.batchPower.set(X.rows, entry);
      }
      await this.gram.structured(step, X, entry.K, { forwardDone: true });
      await entry.power.record(step, entry.K, b.iterations ?? 20, out, base + SLOT.lambdaBatch);
    }
    const s = this.config.set;
    const setDue = Boolean(s && this.set && due(t, s!.every));
    if (setDue && this.set && s) {
      const set = this.set;
      await this.gram.structured(step, set.X, set.K);
      await set.power.record(step, set.K, s.iterations ?? 20, out, base + SLOT.lambdaSet);
      // The set's loss and residual at these parameters, from the forward pass the Gram matrix just ran;
      // then u₁ᵀ r with u₁ the power vector.
      await this.net.mse(step, set.Y, out, base + SLOT.setLoss);
      const residual = this.net.residual(set.n);
      await step.host.prepare([transpose]);
      step.dispatch(transpose, [residual, set.residual], { rows: set.n, cols: k });
      await reduce(step, 'dot', set.power.v, set.residual, out, base + SLOT.topProjection);
    }
    const a = this.config.agop;
    if (a && this.agop && this.set && due(t, a.every)) {
      const g = this.agop;
      const set = this.set;
      // The set's activations are current if the set was tracked in this step; otherwise run the pass.
      if (!setDue) await this.net.forward(step, set.X);
      for (let o = 0; o < k; o++) {
        await this.net.backward(step, set.X, g.seeds[o], g.inputGrad, { paramGrads: false });
        // G = (1/n) Σ_outputs Jxᵀ Jx; the 1/n cancels in the cosine but keeps G the paper's AGOP.
        await matmul(step, g.inputGrad, g.inputGrad, o === 0 ? g.G : g.Ga, { transA: true, alpha: 1 / set.n });
        if (o > 0) {
          await step.host.prepare([addInPlace]);
          step.dispatch(addInPlace, [g.Ga, g.G], { count: g.G.length });
        }
      }
      await reduce(step, 'dot', g.G, g.Gstar, out, base + SLOT.agopDot);
      await reduce(step, 'norm', g.G, null, out, base + SLOT.agopNorm);
    }
    const ada = this.config.adagrad;
    if (ada && this.adagradState && due(t, ada.every)) {
      // The minimum of the accumulator over each trainable tensor (padding and frozen layers excluded),
      // then over the tensors. It reads the accumulator before this step's update: Σ over steps < t.
      const { sum, tensors } = this.adagradState;
      const partials = step.scratch(tensors.length * 4);
      for (const [i, { offset, count }] of tensors.entries()) await reduce(step, 'min', new Matrix(sum, count, 1, offset * 4), null, partials, i);
      await reduce(step, 'min', new Matrix(partials, tensors.length, 1), null, out, base + SLOT.adagradMin);
    }
  }

  /** The tracked quantities of one metrics row, for the step record. */
  read(values: Float32Array, row: number, t: number, batchRows: number, lr: number): Partial<Record<TrackedField, number>> {
    const v = (slot: number) => values[row * METRIC_SLOTS + slot];
    const r: Partial<Record<TrackedField, number>> = {};
    if (this.config.batch && due(t, this.config.batch.every)) {
      r.lambdaBatch = v(SLOT.lambdaBatch);
      r.etaCrit = batchRows / r.lambdaBatch;
    }
    if (this.set && due(t, this.config.set!.every)) {
      const n = this.set.n;
      r.lambda = v(SLOT.lambdaSet);
      r.setLoss = v(SLOT.setLoss) / n;
      r.lossTop = v(SLOT.topProjection) ** 2 / n;
      r.lossRest = r.setLoss - r.lossTop;
    }
    if (this.agop && due(t, this.config.agop!.every)) r.alignment = v(SLOT.agopDot) / (v(SLOT.agopNorm) * this.agop.normStar);
    if (this.adagradState && due(t, this.config.adagrad!.every)) {
      r.adagradS = Math.sqrt(v(SLOT.adagradMin));
      r.adagradRate = lr / r.adagradS;
      if (r.lambda !== undefined) r.adagradBound = (r.adagradS * this.set!.n) / r.lambda;
    }
    return r;
  }

  destroy(): void {
    this.gram.destroy();
    for (const e of this.batchPower.values()) {
      e.power.destroy();
      e.K.buffer.destroy();
    }
    if (this.set) {
      this.set.power.destroy();
      for (const m of [this.set.X, this.set.Y, this.set.K, this.set.residual]) m.buffer.destroy();
    }
    if (this.agop) for (const m of [this.agop.G, this.agop.Ga, this.agop.Gstar, this.agop.inputGrad, ...this.agop.seeds]) m.buffer.destroy();
  }
}
