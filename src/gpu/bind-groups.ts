// Bind groups, created once per kernel and set of bound buffer ranges and reused by later dispatches. A
// training step records the same dispatches on the same buffers every time, so its uniforms land on the
// same offsets of the uniform arena too, and creating bind groups is a large share of the host's cost per
// dispatch on the CPU drivers (bench/RESULTS.md, "Dispatch cost"). Uniform offsets are part of the key rather
// than dynamic offsets, which slow lavapipe's execution of a step (same section). A new arena (after it grew)
// starts a new cache.
//
// Past its capacity the cache drops its least recently used entry, one at a time, never all at once: a step
// with hundreds of power iterations has thousands of bind groups (each dispatch has its own uniform offset),
// and re-creating them all in bursts exhausts the driver's descriptor pools (lavapipe's vkCreateDescriptorPool
// fails under that churn).
import type { CompiledKernel } from './pipelines.ts';

/** Entries kept: bounded memory when many short-lived buffers come and go, room for a long step's dispatches. */
const CAPACITY = 16384;

export class BindGroupCache {
  private readonly groups = new Map<string, GPUBindGroup>();
  private readonly ids = new WeakMap<GPUBuffer, number>();
  private nextId = 1;
  private arena: GPUBuffer | null = null;

  constructor(
    private readonly device: Pick<GPUDevice, 'createBindGroup'>,
    private readonly capacity = CAPACITY,
  ) {}

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
    // A Map iterates in insertion order: re-inserting a hit keeps the least recently used first.
    if (group) this.groups.delete(key);
    else {
      if (this.groups.size >= this.capacity) this.groups.delete(this.groups.keys().next().value!);
      const entries: GPUBindGroupEntry[] = buffers.map((resource, binding) => ({ binding, resource }));
      if (uniformSize > 0) entries.push({ binding: buffers.length, resource: { buffer: arena!, offset, size: uniformSize } });
      group = this.device.createBindGroup({ label: kernel.name, layout: kernel.layout, entries });
    }
    this.groups.set(key, group);
    return group;
  }
}
