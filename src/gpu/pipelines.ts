// Compiled kernels, created once per compile-time key, asynchronously, with explicit bind-group layouts.
import { KernelCompileError, type CompileMessage } from './errors.ts';
import type { BindingKind, KernelDef } from './kernel.ts';
import type { GpuWait } from './adapter.ts';

export interface CompiledKernel {
  readonly name: string;
  readonly key: string;
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly bindings: readonly BindingKind[];
}

const bufferType: Record<BindingKind, GPUBufferBindingType> = {
  read: 'read-only-storage',
  write: 'storage',
  uniform: 'uniform',
};

export class PipelineCache {
  private readonly entries = new Map<string, { source: string; compiled: Promise<CompiledKernel> }>();
  private readonly ready = new Map<string, CompiledKernel>();

  constructor(
    private readonly device: GPUDevice,
    private readonly wait: GpuWait = (work) => work,
  ) {}

  /** The compiled kernel for def.key, compiling it on first use. */
  get(def: KernelDef<unknown>): Promise<CompiledKernel> {
    const entry = this.entries.get(def.key);
    if (entry) {
      if (entry.source !== def.source) {
        // Two different sources under one key means a builder left a compile-time fact out of its key.
        throw new Error(`kernel key "${def.key}" (${def.name}) was built with two different WGSL sources; the key must name every compile-time option`);
      }
      return entry.compiled;
    }
    const compiled = this.compile(def).then((k) => {
      this.ready.set(def.key, k);
      return k;
    });
    // A failed compile is not cached: the next call reports the error again instead of a stale promise.
    compiled.catch(() => this.entries.delete(def.key));
    this.entries.set(def.key, { source: def.source, compiled });
    return compiled;
  }

  /** The compiled kernel if it is ready, for code that must not wait (a step being recorded). */
  peek(key: string): CompiledKernel | undefined {
    return this.ready.get(key);
  }

  get size(): number {
    return this.ready.size;
  }

  private async compile(def: KernelDef<unknown>): Promise<CompiledKernel> {
    const { device } = this;
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ label: def.name, code: def.source });
    const info = await module.getCompilationInfo();
    const moduleError = await device.popErrorScope();
    const errors: CompileMessage[] = info.messages
      .filter((m) => m.type === 'error')
      .map((m) => ({ type: m.type, lineNum: m.lineNum, linePos: m.linePos, message: m.message }));
    if (errors.length > 0 || moduleError) {
      if (errors.length === 0) errors.push({ type: 'error', lineNum: 0, linePos: 0, message: moduleError!.message });
      throw new KernelCompileError(def.name, def.source, errors);
    }

    const layout = device.createBindGroupLayout({
      label: def.name,
      entries: def.bindings.map((kind, binding) => ({
        binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: bufferType[kind] },
      })),
    });
    device.pushErrorScope('validation');
    let pipeline: GPUComputePipeline;
    try {
      pipeline = await this.wait(
        device.createComputePipelineAsync({
          label: def.name,
          layout: device.createPipelineLayout({ label: def.name, bindGroupLayouts: [layout] }),
          compute: { module, entryPoint: 'main' },
        }),
      );
    } catch (e) {
      await device.popErrorScope();
      throw new KernelCompileError(def.name, def.source, [{ type: 'error', lineNum: 0, linePos: 0, message: (e as Error).message }]);
    }
    const pipelineError = await device.popErrorScope();
    if (pipelineError) {
      throw new KernelCompileError(def.name, def.source, [{ type: 'error', lineNum: 0, linePos: 0, message: pipelineError.message }]);
    }
    return { name: def.name, key: def.key, pipeline, layout, bindings: def.bindings };
  }
}
