// Average pooling over k×k windows with stride k (torch.nn.AvgPool2d(k)), and global average pooling over the
// whole map (AdaptiveAvgPool2d(1), then flatten): linear maps, so the tangent is the forward pass on ẋ.
import { avgPool, avgPoolBackward, globalAvgPool, globalAvgPoolBackward, type PoolShape } from '../../../shaders/pool.ts';
import { dispatch } from '../../kernels/ops.ts';
import type { Matrix } from '../../gpu/matrix.ts';
import type { Step } from '../../gpu/step.ts';
import type { FreeLayer } from '../layer.ts';
import type { Shape } from '../network.ts';

abstract class Pool implements FreeLayer {
  abstract readonly kind: 'avgpool' | 'globalavgpool';
  readonly alias = false;
  readonly linear = true;
  abstract readonly outShape: Shape;
  protected abstract readonly kernels: { forward: typeof avgPool; backward: typeof avgPoolBackward };

  constructor(
    readonly name: string,
    readonly inShape: Shape,
    protected readonly k: number,
  ) {}

  protected shape(rows: number): PoolShape {
    const [c, h, w] = this.inShape;
    return { b: rows, c, h, w, k: this.k };
  }

  async forward(s: Step, x: Matrix, y: Matrix): Promise<void> {
    await dispatch(s, this.kernels.forward, [x, y], this.shape(x.rows));
  }

  async backward(s: Step, _y: Matrix, dy: Matrix, dx: Matrix): Promise<void> {
    await dispatch(s, this.kernels.backward, [dy, dx], this.shape(dy.rows));
  }

  async tangent(s: Step, _y: Matrix, xdot: Matrix, ydot: Matrix): Promise<void> {
    await this.forward(s, xdot, ydot);
  }
}

export class AvgPool extends Pool {
  readonly kind = 'avgpool';
  readonly outShape: Shape;
  protected readonly kernels = { forward: avgPool, backward: avgPoolBackward };

  constructor(
    name: string,
    inShape: Shape,
    /** The window's side, which is also its stride. */
    readonly window: number,
  ) {
    super(name, inShape, window);
    const k = window;
    this.outShape = [inShape[0], Math.floor(inShape[1] / k), Math.floor(inShape[2] / k)];
  }
}

export class GlobalAvgPool extends Pool {
  readonly kind = 'globalavgpool';
  readonly outShape: Shape;
  protected readonly kernels = { forward: globalAvgPool, backward: globalAvgPoolBackward };

  constructor(name: string, inShape: Shape) {
    super(name, inShape, 1);
    this.outShape = [inShape[0], 1, 1];
  }
}
