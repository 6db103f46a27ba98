// Bind groups, created once per kernel and set of bound buffer ranges and reused by later dispatches. A
// training step records the same dispatches on the same buffers every time, so its uniforms land on the
// same offsets of the uniform arena too; creating their bind groups anew was about half of the host's cost
// per dispatch on the CPU drivers (bench/RESULTS.md, "Dispatch cost"). A dynamic uniform offset would make
// the offset no part of the key, but it made lavapipe's execution of a step 3-5x slower. A new arena
// (after it grew) starts a new cache.
import type { CompiledKernel } from './pipelines.ts';

/** Entries kept before the cache starts over: bounded memory when many short-lived buffers come and go. */
const CAPACITY = 4096;

export class BindGroupCache {
  private readonly groups = new Map<string, GPUBindGroup>();
  private readonly ids = new WeakMap<GPUBuffer, number>();
  private nextId = 1;
  private arena: GPUBuffer | null = null;

  constructor(private readonly device: GPUDevice) {}

  private id(buffer: GPUBuffer): number {
    let id = this.ids.get(buffer);
    if (id === undefined) this.ids.set(buffer, (id = this.nextId++));
    return id;
  }

  /** The bind group of `kernel` over `buffers` and, when it takes one, `uniformSize` bytes of `arena` at `offset`. */
  get(kernel: CompiledKernel, buffers: GPUBufferBinding[], arena: GPUBuffer | null, offset: number, uniformSize: number): GPUBindGroup {
    if (arena !== this.arena) {
      this.groups.clear();
      this.arena = arena;
    }
    let key = `${kernel.key}|${offset}:${uniformSize}`;
    for (const b of buffers) key += `|${this.id(b.buffer)}:${b.offset ?? 0}:${b.size ?? -1}`;
    let group = this.groups.get(key);
    if (!group) {
      if (this.groups.size >= CAPACITY) this.groups.clear();
      const entries: GPUBindGroupEntry[] = buffers.map((resource, binding) => ({ binding, resource }));
      if (uniformSize > 0) entries.push({ binding: buffers.length, resource: { buffer: arena!, offset, size: uniformSize } });
      group = this.device.createBindGroup({ label: kernel.name, layout: kernel.layout, entries });
      this.groups.set(key, group);
    }
    return group;
  }
}
