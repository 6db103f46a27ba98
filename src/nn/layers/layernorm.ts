// Layer normalization without its affine part (that is src/nn/layers/affine.ts, which holds PyTorch's
// LayerNorm weight and bias): each position's C channels are normalized to mean 0 and variance 1, as
// torch.nn.LayerNorm(C) does to a token. Nonlinear: its backward pass and forward-mode product are the one
// symmetric Jacobian applied to dy or ẋ (shaders/layernorm.ts), read from the layer's input.
import { layerNorm, layerNormLinearized, type LayerNormShape } from '../../../shaders/layernorm.ts';
import type { Matrix } from '../../gpu/matrix.ts';
import { dispatch } from '../../kernels/ops.ts';
import type { Step } from '../../gpu/step.ts';
import type { FreeLayer } from '../layer.ts';
import type { Shape } from '../network.ts';

/** PyTorch's LayerNorm default. */
export const LAYER_NORM_EPS = 1e-5;

export class LayerNorm implements FreeLayer {
  readonly kind = 'layernorm';
  readonly alias = false;
  readonly linear = false;
  readonly outShape: Shape;

  constructor(
    readonly name: string,
    readonly inShape: Shape,
    readonly eps = LAYER_NORM_EPS,
  ) {
    this.outShape = inShape;
  }

  private shape(b: number): LayerNormShape {
    return { b, c: this.inShape[0], positions: this.inShape[1] * this.inShape[2], eps: this.eps };
  }

  async forward(s: Step, x: Matrix, y: Matrix): Promise<void> {
    await dispatch(s, layerNorm, [x, y], this.shape(x.rows));
  }

  async backward(s: Step, _y: Matrix, dy: Matrix, dx: Matrix, x: Matrix): Promise<void> {
    await dispatch(s, layerNormLinearized, [x, dy, dx], this.shape(x.rows));
  }

  async tangent(s: Step, _y: Matrix, xdot: Matrix, ydot: Matrix, x: Matrix): Promise<void> {
    await dispatch(s, layerNormLinearized, [x, xdot, ydot], this.shape(x.rows));
  }
}
