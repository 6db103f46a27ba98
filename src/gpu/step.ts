// A logical step: an ordered list of dispatches and copies, encoded into one command encoder at submit.
// Consecutive dispatches share one compute pass; a copy closes the pass it interrupts.
import type { AdapterClass } from './adapter.ts';
import type { KernelDef } from './kernel.ts';
import { Matrix } from './matrix.ts';
import type { CompiledKernel } from './pipelines.ts';

/** A storage binding: a whole buffer, or a matrix (bound to exactly its bytes, views included). */
export type Bindable = GPUBuffer | Matrix;

export interface DispatchCommand {
  kind: 'dispatch';
  kernel: CompiledKernel;
  buffers: GPUBufferBinding[];
  uniforms: Uint32Array | null;
  grid: [number, number, number];
}

export interface CopyCommand {
  kind: 'copy';
  src: GPUBuffer;
  srcOffset: number;
  dst: GPUBuffer;
  dstOffset: number;
  size: number;
}

export type Command = DispatchCommand | CopyCommand;

/** What a step needs from its device; satisfied by Gpu. */
export interface StepHost {
  /** Kernels pick their variants by its class: CPU drivers and GPUs favour different kernel shapes. */
  readonly adapter: { isSoftware: boolean; kind: AdapterClass };
  /** Whether kernels may use subgroup operations. */
  readonly subgroups: boolean;
  compiled(key: string): CompiledKernel | undefined;
  prepare(defs: readonly KernelDef<any>[]): Promise<void>;
  acquireScratch(bytes: number): GPUBuffer;
}

export class Step {
  readonly commands: Command[] = [];
  /** Scratch buffers this step uses; returned to the pool when the step is submitted. */
  readonly scratchBuffers: GPUBuffer[] = [];

  constructor(
    readonly host: StepHost,
    readonly label: string,
  ) {}

  /** A temporary storage buffer of at least `bytes`, valid for the commands of this step. */
  scratch(bytes: number): GPUBuffer {
    const buffer = this.host.acquireScratch(bytes);
    this.scratchBuffers.push(buffer);
    return buffer;
  }

  /**
   * Records one dispatch of a kernel that was compiled beforehand (Gpu.prepare), so that recording a step
   * never waits on pipeline creation. `buffers` are the storage bindings in order; the uniform is appended.
   */
  dispatch<S>(def: KernelDef<S>, buffers: Bindable[], shape: S): void {
    const kernel = this.host.compiled(def.key);
    if (!kernel) {
      throw new Error(`kernel "${def.name}" is not compiled yet: await gpu.prepare(...) before recording step "${this.label}"`);
    }
    const storage = def.bindings.filter((b) => b !== 'uniform').length;
    if (buffers.length !== storage) {
      throw new Error(`kernel "${def.name}" takes ${storage} storage buffers, got ${buffers.length}`);
    }
    const grid = def.grid(shape);
    if (grid.some((g) => !Number.isInteger(g) || g < 0)) {
      throw new Error(`kernel "${def.name}": bad dispatch grid ${grid.join('×')}`);
    }
    if (grid.some((g) => g === 0)) return; // an empty shape does no work
    this.commands.push({
      kind: 'dispatch',
      kernel,
      buffers: buffers.map((b) => (b instanceof Matrix ? b.binding : { buffer: b })),
      uniforms: def.bindings.includes('uniform') ? def.uniforms(shape) : null,
      grid,
    });
  }

  copy(src: GPUBuffer, dst: GPUBuffer, size: number, srcOffset = 0, dstOffset = 0): void {
    this.commands.push({ kind: 'copy', src, srcOffset, dst, dstOffset, size });
  }
}
