// The affine part of layer normalization: a scale γ and a shift per channel, pre = c·γ ⊙ x + β·shift
// (PyTorch's LayerNorm weight and bias, γ = 1 and shift = 0 at initialization). Bilinear in (x, γ), so its
// derivatives have the form of every parametrized layer's (layer.ts):
//   backward: ∇γ_c = c·Σ_{n,q} δ x,  ∇shift_c = β·Σ_{n,q} δ,  dx = c·γ ⊙ δ
//   tangent:  ḣ = c·(u_γ ⊙ x + γ ⊙ ẋ) + β·u_shift
//   R{∇γ} = c·Σ (R{δ} x + δ ẋ),  R{∇shift} = β·Σ R{δ},  R{dx} = c·(γ ⊙ R{δ} + u_γ ⊙ δ)
// Its Jacobian rows per channel are Σ_q δ x and Σ_q δ (shaders/affine.ts).
import { channelPerExample, channelReduce, channelScale, type ChannelShape } from '../../../shaders/affine.ts';
import type { Matrix } from '../../gpu/matrix.ts';
import { biasActivation, dispatch, linearCombination } from '../../kernels/ops.ts';
import type { Step } from '../../gpu/step.ts';
import { tangentTerms, type LayerScratch, type LayerTensors, type ParamLayer } from '../layer.ts';
import type { Shape } from '../network.ts';
import type { ParamSpec } from '../params.ts';

export class ChannelAffine implements ParamLayer {
  readonly kind = 'affine';
  readonly structured = false;
  readonly activation = 'identity';
  readonly outShape: Shape;
  readonly params: readonly ParamSpec[];
  readonly ntk: ParamLayer['ntk'];
  private readonly c = 1;

  constructor(
    readonly name: string,
    readonly inShape: Shape,
    /** β of the shift. */
    private readonly beta: number,
    frozen: boolean,
  ) {
    this.outShape = inShape;
    const channels = inShape[0];
    this.params = [
      { name: `${name}.weight`, shape: [channels], scale: this.c, init: { kind: 'ones' }, frozen },
      { name: `${name}.bias`, shape: [channels], scale: beta, init: { kind: 'zeros' }, frozen },
    ];
    this.ntk = {
      units: channels,
      weightsPerUnit: 1,
      c: this.c,
      beta,
      perExampleGrads: async (s, io) => {
        const shape = { ...this.shape(io.n, this.c), rows: io.delta.rows, c0: io.from, units: io.units, beta };
        await dispatch(s, channelPerExample, [io.delta, io.x, io.J], shape);
      },
    };
  }

  private shape(b: number, alpha: number): ChannelShape {
    return { b, c: this.inShape[0], positions: this.inShape[1] * this.inShape[2], alpha };
  }

  private async scale(s: Step, x: Matrix, by: Matrix, out: Matrix): Promise<void> {
    await dispatch(s, channelScale, [x, by, out], this.shape(x.rows, this.c));
  }

  private async dot(s: Step, a: Matrix, b: Matrix, out: Matrix): Promise<void> {
    await dispatch(s, channelReduce({ dot: true }), [a, b, out], this.shape(a.rows, this.c));
  }

  private async shiftGrad(s: Step, delta: Matrix, out: Matrix): Promise<void> {
    await dispatch(s, channelReduce({ dot: false }), [delta, out], this.shape(delta.rows, this.beta));
  }

  private async addShift(s: Step, h: Matrix, shift: Matrix | null, out: Matrix): Promise<void> {
    await biasActivation(s, h, shift, out, 'identity', { biasScale: this.beta, spatial: this.inShape[1] * this.inShape[2] });
  }

  async forward(s: Step, x: Matrix, pre: Matrix, y: Matrix, p: LayerTensors): Promise<void> {
    await this.scale(s, x, p.weight, pre);
    await this.addShift(s, pre, p.bias, y);
  }

  async backward(s: Step, x: Matrix, delta: Matrix, g: LayerTensors | null, dx: Matrix | null, p: LayerTensors): Promise<void> {
    if (g) {
      await this.dot(s, delta, x, g.weight);
      if (g.bias) await this.shiftGrad(s, delta, g.bias);
    }
    if (dx) await this.scale(s, delta, p.weight, dx);
  }

  async tangent(s: Step, x: Matrix, xdot: Matrix | null, u: LayerTensors | null, hdot: Matrix, p: LayerTensors, t: LayerScratch): Promise<boolean> {
    const h = await tangentTerms(s, t, u ? (out) => this.scale(s, x, u.weight, out) : null, xdot ? (out) => this.scale(s, xdot, p.weight, out) : null);
    if (!h) return false;
    await this.addShift(s, h, u?.bias ?? null, hdot);
    return true;
  }

  async rBackward(s: Step, x: Matrix, xdot: Matrix | null, delta: Matrix, rDelta: Matrix, u: LayerTensors | null, rg: LayerTensors | null, wantDx: boolean, p: LayerTensors, t: LayerScratch): Promise<Matrix | null> {
    if (rg) {
      if (xdot) {
        await this.dot(s, rDelta, x, t.weightA);
        await this.dot(s, delta, xdot, t.weightB);
        await linearCombination(s, 1, t.weightA, 1, t.weightB, rg.weight);
      } else await this.dot(s, rDelta, x, rg.weight);
      if (rg.bias) await this.shiftGrad(s, rDelta, rg.bias);
    }
    if (!wantDx) return null;
    await this.scale(s, rDelta, p.weight, t.inA!);
    if (!u) return t.inA;
    await this.scale(s, delta, u.weight, t.inB!);
    await linearCombination(s, 1, t.inA!, 1, t.inB!, t.inC!);
    return t.inC;
  }
}
