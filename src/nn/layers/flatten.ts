// Flatten [c, h, w] to [c·h·w]: activations are already rows of c·h·w values in NCHW order (torch.flatten's),
// so the layer is the same buffer seen with another shape, and costs nothing in any pass.
import type { Matrix } from '../../gpu/matrix.ts';
import type { FreeLayer } from '../layer.ts';
import { shapeSize, type Shape } from '../network.ts';

export class Flatten implements FreeLayer {
  readonly kind = 'flatten';
  readonly alias = true;
  readonly linear = true;
  readonly outShape: Shape;

  constructor(
    readonly name: string,
    readonly inShape: Shape,
  ) {
    this.outShape = [shapeSize(inShape), 1, 1];
  }

  private never(): never {
    throw new Error('flatten aliases its input: the graph runtime never records it');
  }

  async forward(_s: unknown, _x: Matrix, _y: Matrix): Promise<void> {
    this.never();
  }

  async backward(): Promise<void> {
    this.never();
  }

  async tangent(): Promise<void> {
    this.never();
  }
}
