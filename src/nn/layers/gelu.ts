// GELU, y = x·Φ(x) in its tanh form (shaders/gelu.ts): elementwise and nonlinear; its backward pass and
// forward-mode product multiply by gelu′ of the layer's input.
import { gelu, geluLinearized } from '../../../shaders/gelu.ts';
import type { Matrix } from '../../gpu/matrix.ts';
import { dispatch } from '../../kernels/ops.ts';
import type { Step } from '../../gpu/step.ts';
import type { FreeLayer } from '../layer.ts';
import type { Shape } from '../network.ts';

export class Gelu implements FreeLayer {
  readonly kind = 'gelu';
  readonly alias = false;
  readonly linear = false;
  readonly outShape: Shape;

  constructor(
    readonly name: string,
    readonly inShape: Shape,
  ) {
    this.outShape = inShape;
  }

  async forward(s: Step, x: Matrix, y: Matrix): Promise<void> {
    await dispatch(s, gelu, [x, y], { count: x.length });
  }

  async backward(s: Step, _y: Matrix, dy: Matrix, dx: Matrix, x: Matrix): Promise<void> {
    await dispatch(s, geluLinearized, [x, dy, dx], { count: x.length });
  }

  async tangent(s: Step, _y: Matrix, xdot: Matrix, ydot: Matrix, x: Matrix): Promise<void> {
    await dispatch(s, geluLinearized, [x, xdot, ydot], { count: x.length });
  }
}
