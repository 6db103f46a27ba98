// A fully connected layer: pre = c·x·Wᵀ (x: b×in, W: out×in as PyTorch's nn.Linear) and y = act(pre + β·b).
//   backward: ∇W = c·δᵀx,  ∇b = β·1ᵀδ,  dx = c·δ·W
//   tangent:  ḣ = c·(x·Uᵀ + ẋ·Wᵀ) + β·u_b
//   R{∇W} = c·(R{δ}ᵀx + δᵀẋ),  R{∇b} = β·1ᵀR{δ},  R{dx} = c·(R{δ}·W + δ·U)
// Its NTK block has the structured form (ΔΔᵀ) ⊙ (c²·x xᵀ + β²) (src/ntk/gram.ts).
import { perExampleGradients } from '../../../shaders/ntk.ts';
import { biasActivation, dispatch, linearCombination, matmul } from '../../kernels/ops.ts';
import type { Matrix } from '../../gpu/matrix.ts';
import type { Step } from '../../gpu/step.ts';
import { weightAndBias, tangentTerms, type Activation, type LayerScratch, type LayerTensors, type ParamLayer, type ParamOptions } from '../layer.ts';
import type { Shape } from '../network.ts';
import type { ParamSpec } from '../params.ts';

export interface LinearOptions extends ParamOptions {
  in: number;
  out: number;
  activation: Activation;
}

export class Linear implements ParamLayer {
  readonly kind = 'linear';
  readonly structured = true;
  readonly name: string;
  readonly inShape: Shape;
  readonly outShape: Shape;
  readonly params: readonly ParamSpec[];
  readonly activation: Activation;
  readonly c: number;
  readonly beta: number;
  readonly ntk: ParamLayer['ntk'];

  constructor(o: LinearOptions) {
    this.name = o.name;
    this.inShape = [o.in, 1, 1];
    this.outShape = [o.out, 1, 1];
    this.activation = o.activation;
    this.c = o.weightScale;
    this.beta = o.biasScale;
    this.params = weightAndBias(o, [o.out, o.in]);
    this.ntk = {
      units: o.out,
      weightsPerUnit: o.in,
      c: this.c,
      beta: this.beta,
      perExampleGrads: async (s, io) => {
        const shape = { rows: io.delta.rows, n: io.n, fanIn: o.in, fanOut: o.out, r0: io.from, units: io.units, c: this.c, beta: this.beta };
        await dispatch(s, perExampleGradients, [io.delta, io.x, io.J], shape);
      },
    };
  }

  async forward(s: Step, x: Matrix, pre: Matrix, y: Matrix, p: LayerTensors): Promise<void> {
    await matmul(s, x, p.weight, pre, { transB: true, alpha: this.c });
    await biasActivation(s, pre, p.bias, y, this.activation, { biasScale: this.beta });
  }

  async backward(s: Step, x: Matrix, delta: Matrix, g: LayerTensors | null, dx: Matrix | null, p: LayerTensors, ones: Matrix): Promise<void> {
    if (g) {
      await matmul(s, delta, x, g.weight, { transA: true, alpha: this.c });
      if (g.bias) await matmul(s, ones, delta, g.bias, { alpha: this.beta });
    }
    if (dx) await matmul(s, delta, p.weight, dx, { alpha: this.c });
  }

  async tangent(s: Step, x: Matrix, xdot: Matrix | null, u: LayerTensors | null, hdot: Matrix, p: LayerTensors, t: LayerScratch): Promise<boolean> {
    const h = await tangentTerms(
      s,
      t,
      u ? (out) => matmul(s, x, u.weight, out, { transB: true, alpha: this.c }) : null,
      xdot ? (out) => matmul(s, xdot, p.weight, out, { transB: true, alpha: this.c }) : null,
    );
    if (!h) return false;
    await biasActivation(s, h, u?.bias ?? null, hdot, 'identity', { biasScale: this.beta });
    return true;
  }

  async rBackward(s: Step, x: Matrix, xdot: Matrix | null, delta: Matrix, rDelta: Matrix, u: LayerTensors | null, rg: LayerTensors | null, wantDx: boolean, p: LayerTensors, t: LayerScratch): Promise<Matrix | null> {
    if (rg) {
      if (xdot) {
        await matmul(s, rDelta, x, t.weightA, { transA: true, alpha: this.c });
        await matmul(s, delta, xdot, t.weightB, { transA: true, alpha: this.c });
        await linearCombination(s, 1, t.weightA, 1, t.weightB, rg.weight);
      } else {
        await matmul(s, rDelta, x, rg.weight, { transA: true, alpha: this.c });
      }
      if (rg.bias) await matmul(s, t.ones, rDelta, rg.bias, { alpha: this.beta });
    }
    if (!wantDx) return null;
    await matmul(s, rDelta, p.weight, t.inA!, { alpha: this.c });
    if (!u) return t.inA;
    await matmul(s, delta, u.weight, t.inB!, { alpha: this.c });
    await linearCombination(s, 1, t.inA!, 1, t.inB!, t.inC!);
    return t.inC;
  }
}
