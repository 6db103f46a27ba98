// Row ranges of a matrix as matrices of their own: a view at an arbitrary row would break the 256-byte
// binding alignment, so a range is copied into a buffer kept per source, size and use.
import type { Gpu } from './gpu.ts';
import type { Matrix } from './matrix.ts';
import type { Step } from './step.ts';

export class RowCopies {
  private readonly copies = new Map<string, Matrix>();

  constructor(private readonly gpu: Gpu) {}

  /** Rows from … from + rows of M (M itself for all of it), copied in `step`; `tag` keeps apart two uses at one size. */
  of(step: Step, M: Matrix, from: number, rows: number, tag: string): Matrix {
    if (from === 0 && rows === M.rows) return M;
    const key = `${M.label}:${rows}:${tag}`;
    let copy = this.copies.get(key);
    if (!copy) this.copies.set(key, (copy = this.gpu.matrix(`${M.label} rows (${rows})`, rows, M.cols)));
    step.copy(M.buffer, copy.buffer, rows * M.cols * 4, M.offset + from * M.cols * 4, 0);
    return copy;
  }

  destroy(): void {
    for (const m of this.copies.values()) m.buffer.destroy();
    this.copies.clear();
  }
}
