// A ReLU that does not follow a linear or convolution layer (those fuse theirs): y = max(x, 0); its derivative
// is the mask 1[y > 0], read from the output, for the backward pass and the tangent alike.
import { activationBackward, biasActivation } from '../../kernels/ops.ts';
import type { Matrix } from '../../gpu/matrix.ts';
import type { Step } from '../../gpu/step.ts';
import type { FreeLayer } from '../layer.ts';
import type { Shape } from '../network.ts';

export class Relu implements FreeLayer {
  readonly kind = 'relu';
  readonly alias = false;
  readonly linear = true;
  readonly outShape: Shape;

  constructor(
    readonly name: string,
    readonly inShape: Shape,
  ) {
    this.outShape = inShape;
  }

  async forward(s: Step, x: Matrix, y: Matrix): Promise<void> {
    await biasActivation(s, x, null, y, 'relu');
  }

  async backward(s: Step, y: Matrix, dy: Matrix, dx: Matrix): Promise<void> {
    await activationBackward(s, dy, y, dx, 'relu');
  }

  async tangent(s: Step, y: Matrix, xdot: Matrix, ydot: Matrix): Promise<void> {
    await activationBackward(s, xdot, y, ydot, 'relu');
  }
}
