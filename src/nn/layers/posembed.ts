// Learned position embeddings: pre = x + c·P, one value of P per channel and position, the same for every
// example (ViT's pos_embed, here [1, C, h, w] in NCHW). Affine in x with the identity as its linear part:
//   backward: ∇P = c·Σ_n δ[n],  dx = δ
//   tangent:  ḣ = ẋ + c·u_P
//   R{∇P} = c·Σ_n R{δ},  R{dx} = R{δ}
// Its Jacobian rows are c·δ itself (shaders/affine.ts, embedPerExample).
import { embedPerExample } from '../../../shaders/affine.ts';
import type { Matrix } from '../../gpu/matrix.ts';
import { biasActivation, dispatch, matmul } from '../../kernels/ops.ts';
import type { Step } from '../../gpu/step.ts';
import type { LayerScratch, LayerTensors, ParamLayer } from '../layer.ts';
import type { Shape } from '../network.ts';
import type { Init, ParamSpec } from '../params.ts';

export class PositionEmbedding implements ParamLayer {
  readonly kind = 'posembed';
  readonly structured = false;
  readonly activation = 'identity';
  readonly outShape: Shape;
  readonly params: readonly ParamSpec[];
  readonly ntk: ParamLayer['ntk'];

  constructor(
    readonly name: string,
    readonly inShape: Shape,
    /** c, the embedding's multiplier. */
    private readonly c: number,
    init: Init,
    frozen: boolean,
  ) {
    this.outShape = inShape;
    const [channels, h, w] = inShape;
    this.params = [{ name, shape: [1, channels, h, w], scale: c, init, frozen }];
    this.ntk = {
      units: channels,
      weightsPerUnit: h * w,
      c,
      beta: 0,
      perExampleGrads: async (s, io) => {
        await dispatch(s, embedPerExample, [io.delta, io.J], { b: io.n, c: channels, positions: h * w, alpha: c, rows: io.delta.rows, c0: io.from, units: io.units, beta: 0 });
      },
    };
  }

  private copy(s: Step, from: Matrix, to: Matrix): void {
    s.copy(from.buffer, to.buffer, to.length * 4, from.offset, to.offset);
  }

  async forward(s: Step, x: Matrix, _pre: Matrix, y: Matrix, p: LayerTensors): Promise<void> {
    await biasActivation(s, x, p.weight, y, 'identity', { biasScale: this.c });
  }

  async backward(s: Step, _x: Matrix, delta: Matrix, g: LayerTensors | null, dx: Matrix | null, _p: LayerTensors, ones: Matrix): Promise<void> {
    if (g) await matmul(s, ones, delta, g.weight, { alpha: this.c });
    if (dx) this.copy(s, delta, dx);
  }

  async tangent(s: Step, x: Matrix, xdot: Matrix | null, u: LayerTensors | null, hdot: Matrix): Promise<boolean> {
    if (u) await biasActivation(s, xdot ?? x, u.weight, hdot, 'identity', { scale: xdot ? 1 : 0, biasScale: this.c });
    else if (xdot) this.copy(s, xdot, hdot);
    return u !== null || xdot !== null;
  }

  async rBackward(s: Step, _x: Matrix, _xdot: Matrix | null, _delta: Matrix, rDelta: Matrix, _u: LayerTensors | null, rg: LayerTensors | null, wantDx: boolean, _p: LayerTensors, t: LayerScratch): Promise<Matrix | null> {
    if (rg) await matmul(s, t.ones, rDelta, rg.weight, { alpha: this.c });
    return wantDx ? rDelta : null;
  }
}
