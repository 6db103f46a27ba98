// Temporary storage for multi-pass operations (split-K slices, reduction partials). A step takes buffers from
// the pool while it is recorded and gives them back once it is submitted: later steps may reuse them because
// the queue runs submissions in order.
export class ScratchPool {
  private readonly free: GPUBuffer[] = [];

  constructor(
    private readonly create: (size: number) => GPUBuffer,
    private readonly maxSize: number,
  ) {}

  acquire(bytes: number): GPUBuffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      if (this.free[i].size >= bytes && (best < 0 || this.free[i].size < this.free[best].size)) best = i;
    }
    if (best >= 0) return this.free.splice(best, 1)[0];
    // Powers of two (from 64 KiB) so that slowly growing requests reuse buffers instead of piling them up.
    let size = 1 << 16;
    while (size < bytes) size *= 2;
    return this.create(Math.max(bytes, Math.min(size, this.maxSize)));
  }

  release(buffers: GPUBuffer[]): void {
    this.free.push(...buffers);
  }

  destroy(): void {
    for (const b of this.free.splice(0)) b.destroy();
  }
}
