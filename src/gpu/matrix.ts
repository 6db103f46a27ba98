/** A row-major float32 matrix living in a GPU storage buffer. Vectors are n×1 matrices. */
export class Matrix {
  constructor(
    readonly buffer: GPUBuffer,
    readonly rows: number,
    readonly cols: number,
  ) {}

  get length(): number {
    return this.rows * this.cols;
  }

  get label(): string {
    return this.buffer.label;
  }
}
