// An elementwise nonlinearity y = f(x): sigmoid, tanh, or GELU in its exact form x·Φ(x) (shaders/pointwise.ts).
// Its backward pass and forward-mode product multiply by f′ of the layer's input; it is nonlinear, so it has no
// R-operator here and a Hessian through it is refused by name.
import { pointwise, pointwiseLinearized, type PointwiseFunction } from '../../../shaders/pointwise.ts';
import type { Matrix } from '../../gpu/matrix.ts';
import { dispatch } from '../../kernels/ops.ts';
import type { Step } from '../../gpu/step.ts';
import type { FreeLayer } from '../layer.ts';
import type { Shape } from '../network.ts';

export class Pointwise implements FreeLayer {
  readonly kind = 'pointwise';
  readonly alias = false;
  readonly linear = false;
  readonly outShape: Shape;

  constructor(
    readonly name: string,
    readonly inShape: Shape,
    readonly fn: PointwiseFunction,
  ) {
    this.outShape = inShape;
  }

  async forward(s: Step, x: Matrix, y: Matrix): Promise<void> {
    await dispatch(s, pointwise(this.fn), [x, y], { count: x.length });
  }

  async backward(s: Step, _y: Matrix, dy: Matrix, dx: Matrix, x: Matrix): Promise<void> {
    await dispatch(s, pointwiseLinearized(this.fn), [x, dy, dx], { count: x.length });
  }

  async tangent(s: Step, _y: Matrix, xdot: Matrix, ydot: Matrix, x: Matrix): Promise<void> {
    await dispatch(s, pointwiseLinearized(this.fn), [x, xdot, ydot], { count: x.length });
  }
}
