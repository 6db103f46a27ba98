/**
 * A row-major float32 matrix living in a GPU storage buffer, from `offset` bytes on (a view into a larger
 * buffer, such as one layer's weights inside the flat parameter buffer). Vectors are n×1 matrices.
 */
export class Matrix {
  constructor(
    readonly buffer: GPUBuffer,
    readonly rows: number,
    readonly cols: number,
    readonly offset = 0,
  ) {}

  /** The binding of exactly this matrix's bytes. */
  get binding(): GPUBufferBinding {
    return { buffer: this.buffer, offset: this.offset, size: Math.max(4, this.length * 4) };
  }

  get length(): number {
    return this.rows * this.cols;
  }

  get label(): string {
    return this.buffer.label;
  }
}
