// A 2-D convolution (PyTorch's Conv2d with square kernels): pre = c·(W ⋆ x) (x: b rows of Cin·H·W in NCHW, W:
// OIHW [Cout, Cin, k, k]), y = act(pre + β·b) with one bias per output channel. Its derivatives are
// convolutions again (shaders/conv2d.ts):
//   backward: ∇W = c·wgrad(δ, x),  ∇b = β·Σ_{n,q} δ,  dx = c·dgrad(δ, W)
//   tangent:  ḣ = c·(U ⋆ x + W ⋆ ẋ) + β·u_b
//   R{∇W} = c·(wgrad(R{δ}, x) + wgrad(δ, ẋ)),  R{∇b} = β·Σ R{δ},  R{dx} = c·(dgrad(R{δ}, W) + dgrad(δ, U))
// Its NTK block has no structured form here; it is formed from per-example gradients (src/ntk/gram.ts).
import { conv2dBiasGrad, conv2dForwardFor, conv2dInputGradFor, conv2dPerExample, conv2dPerExampleBias, conv2dWeightGrad, convOutput, convTile, weightGradChunk, type ConvGeometry } from '../../../shaders/conv2d.ts';
import { sumSlices } from '../../../shaders/reduce.ts';
import { ceilDiv } from '../../gpu/kernel.ts';
import { Matrix } from '../../gpu/matrix.ts';
import { biasActivation, dispatch, linearCombination } from '../../kernels/ops.ts';
import type { Step } from '../../gpu/step.ts';
import { weightAndBias, tangentTerms, type Activation, type LayerScratch, type LayerTensors, type ParamLayer, type ParamOptions } from '../layer.ts';
import type { Shape } from '../network.ts';
import type { ParamSpec } from '../params.ts';

export interface Conv2dOptions extends ParamOptions {
  inShape: Shape;
  out: number;
  kernel: number;
  stride: number;
  padding: number;
  activation: Activation;
}

/** Workgroups the weight gradient aims for by splitting its reduction (CPU drivers need few, GPUs many). */
const WEIGHT_GRAD_WORKGROUPS = 64;

export class Conv2d implements ParamLayer {
  readonly kind = 'conv2d';
  readonly structured = false;
  readonly name: string;
  readonly inShape: Shape;
  readonly outShape: Shape;
  readonly params: readonly ParamSpec[];
  readonly activation: Activation;
  readonly c: number;
  readonly beta: number;
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
  readonly ntk: ParamLayer['ntk'];

  constructor(o: Conv2dOptions) {
    this.name = o.name;
    this.inShape = o.inShape;
    this.kernel = o.kernel;
    this.stride = o.stride;
    this.padding = o.padding;
    const [ho, wo] = convOutput({ h: o.inShape[1], w: o.inShape[2], k: o.kernel, stride: o.stride, pad: o.padding });
    this.outShape = [o.out, ho, wo];
    this.activation = o.activation;
    this.c = o.weightScale;
    this.beta = o.biasScale;
    this.params = weightAndBias(o, [o.out, o.inShape[0], o.kernel, o.kernel]);
    this.ntk = {
      units: o.out,
      weightsPerUnit: o.inShape[0] * o.kernel * o.kernel,
      c: this.c,
      beta: this.beta,
      perExampleGrads: async (s, io) => {
        const shape = { ...this.geometry(io.n), rows: io.delta.rows, c0: io.from, units: io.units, alpha: this.c, beta: this.beta };
        await dispatch(s, conv2dPerExample(shape), [io.delta, io.x, io.J], shape);
        if (this.beta !== 0) await dispatch(s, conv2dPerExampleBias, [io.delta, io.J], shape);
      },
    };
  }

  /** The kernels' geometry for a batch of `b` examples. */
  geometry(b: number): ConvGeometry {
    return { b, cin: this.inShape[0], h: this.inShape[1], w: this.inShape[2], cout: this.outShape[0], k: this.kernel, stride: this.stride, pad: this.padding };
  }

  private get spatial(): number {
    return this.outShape[1] * this.outShape[2];
  }

  private async conv(s: Step, x: Matrix, w: Matrix, out: Matrix): Promise<void> {
    const g = this.geometry(x.rows);
    await dispatch(s, conv2dForwardFor(g), [x, w, out], { ...g, alpha: this.c });
  }

  /** dW = c·wgrad(dy, x), its reduction over b·H'W' split into slices added in order when it is long. */
  private async weightGrad(s: Step, dy: Matrix, x: Matrix, dw: Matrix): Promise<void> {
    const g = this.geometry(x.rows);
    const tile = convTile(g.cout, g.cin * g.k * g.k);
    const tiles = ceilDiv(g.cout, 4 * tile.wy) * ceilDiv(g.cin * g.k * g.k, 4 * tile.wx);
    const reduction = g.b * this.spatial;
    const splits = Math.max(1, Math.min(ceilDiv(WEIGHT_GRAD_WORKGROUPS, tiles), Math.floor(reduction / 256)));
    if (splits === 1) {
      await dispatch(s, conv2dWeightGrad(g), [dy, x, dw], { ...g, alpha: this.c });
      return;
    }
    const slices = ceilDiv(reduction, weightGradChunk(g, splits));
    const scratch = new Matrix(s.scratch(slices * dw.length * 4), slices * dw.rows, dw.cols);
    await dispatch(s, conv2dWeightGrad(g), [dy, x, scratch], { ...g, alpha: this.c, splits: slices });
    await dispatch(s, sumSlices, [scratch, dw], { length: dw.length, slices });
  }

  private async biasGrad(s: Step, dy: Matrix, db: Matrix): Promise<void> {
    await dispatch(s, conv2dBiasGrad, [dy, db], { ...this.geometry(dy.rows), alpha: this.beta });
  }

  async forward(s: Step, x: Matrix, pre: Matrix, y: Matrix, p: LayerTensors): Promise<void> {
    await this.conv(s, x, p.weight, pre);
    await biasActivation(s, pre, p.bias, y, this.activation, { biasScale: this.beta, spatial: this.spatial });
  }

  async backward(s: Step, x: Matrix, delta: Matrix, g: LayerTensors | null, dx: Matrix | null, p: LayerTensors, _ones: Matrix): Promise<void> {
    if (g) {
      await this.weightGrad(s, delta, x, g.weight);
      if (g.bias) await this.biasGrad(s, delta, g.bias);
    }
    if (dx) {
      const gx = this.geometry(x.rows);
      await dispatch(s, conv2dInputGradFor(gx), [delta, p.weight, dx], { ...gx, alpha: this.c });
    }
  }

  async tangent(s: Step, x: Matrix, xdot: Matrix | null, u: LayerTensors | null, hdot: Matrix, p: LayerTensors, t: LayerScratch): Promise<boolean> {
    const h = await tangentTerms(s, t, u ? (out) => this.conv(s, x, u.weight, out) : null, xdot ? (out) => this.conv(s, xdot, p.weight, out) : null);
    if (!h) return false;
    await biasActivation(s, h, u?.bias ?? null, hdot, 'identity', { biasScale: this.beta, spatial: this.spatial });
    return true;
  }

  async rBackward(s: Step, x: Matrix, xdot: Matrix | null, delta: Matrix, rDelta: Matrix, u: LayerTensors | null, rg: LayerTensors | null, wantDx: boolean, p: LayerTensors, t: LayerScratch): Promise<Matrix | null> {
    if (rg) {
      if (xdot) {
        await this.weightGrad(s, rDelta, x, t.weightA);
        await this.weightGrad(s, delta, xdot, t.weightB);
        await linearCombination(s, 1, t.weightA, 1, t.weightB, rg.weight);
      } else {
        await this.weightGrad(s, rDelta, x, rg.weight);
      }
      if (rg.bias) await this.biasGrad(s, rDelta, rg.bias);
    }
    if (!wantDx) return null;
    const g = { ...this.geometry(x.rows), alpha: this.c };
    await dispatch(s, conv2dInputGradFor(g), [rDelta, p.weight, t.inA!], g);
    if (!u) return t.inA;
    await dispatch(s, conv2dInputGradFor(g), [delta, u.weight, t.inB!], g);
    await linearCombination(s, 1, t.inA!, 1, t.inB!, t.inC!);
    return t.inC;
  }
}
