// Max pooling (torch.nn.MaxPool2d(k, stride, padding)): the forward pass keeps each window's argmax, through
// which the backward pass and the forward-mode product route dy and ẋ (shaders/maxpool.ts). Linear in x once the
// argmax is held, as ReLU is once its mask is, so its R-operator is its backward pass.
import { maxPool, maxPoolBackward, maxPoolOutput, maxPoolTangent, type MaxPoolShape } from '../../../shaders/maxpool.ts';
import type { Matrix } from '../../gpu/matrix.ts';
import { dispatch } from '../../kernels/ops.ts';
import type { Step } from '../../gpu/step.ts';
import type { FreeLayer, LayerBuffers } from '../layer.ts';
import { shapeText, type Shape } from '../network.ts';

export class MaxPool implements FreeLayer {
  readonly kind = 'maxpool';
  readonly alias = false;
  readonly linear = true;
  readonly outShape: Shape;
  readonly buffers: Readonly<Record<string, number>>;

  constructor(
    readonly name: string,
    readonly inShape: Shape,
    readonly window: number,
    readonly stride: number,
    readonly padding: number,
  ) {
    const [c, h, w] = inShape;
    if (!(window >= 1 && stride >= 1 && padding >= 0 && 2 * padding <= window)) throw new RangeError(`max pool "${name}": window ${window}, stride ${stride}, padding ${padding}: the padding may be at most half the window (as torch's MaxPool2d)`);
    if (window > h + 2 * padding || window > w + 2 * padding) throw new RangeError(`max pool "${name}": window ${window} is larger than its input ${shapeText(inShape)} with padding ${padding}`);
    if (h * w >= 2 ** 24) throw new RangeError(`max pool "${name}": ${h}×${w} planes are too large (the argmax is kept as a float32 index)`);
    const [ho, wo] = maxPoolOutput({ h, w, k: window, stride, pad: padding });
    this.outShape = [c, ho, wo];
    this.buffers = { argmax: c * ho * wo };
  }

  private shape(rows: number): MaxPoolShape {
    const [c, h, w] = this.inShape;
    return { b: rows, c, h, w, k: this.window, stride: this.stride, pad: this.padding };
  }

  async forward(s: Step, x: Matrix, y: Matrix, buffers: LayerBuffers): Promise<void> {
    await dispatch(s, maxPool, [x, y, buffers.argmax], this.shape(x.rows));
  }

  async backward(s: Step, _y: Matrix, dy: Matrix, dx: Matrix, _x: Matrix, buffers: LayerBuffers): Promise<void> {
    await dispatch(s, maxPoolBackward, [dy, buffers.argmax, dx], this.shape(dy.rows));
  }

  async tangent(s: Step, _y: Matrix, xdot: Matrix, ydot: Matrix, _x: Matrix, buffers: LayerBuffers): Promise<void> {
    await dispatch(s, maxPoolTangent, [xdot, buffers.argmax, ydot], this.shape(xdot.rows));
  }
}
