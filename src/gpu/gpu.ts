// The engine's handle on one WebGPU device: acquisition, buffers, compiled kernels, submission, readback.
// Host-neutral: the browser passes its GPU entry point, Node passes the `webgpu` package's GPU (src/cli/node-gpu.ts).
import type { AdapterSummary, GpuWait } from './adapter.ts';
import { BindGroupCache } from './bind-groups.ts';
import { createCheckedBuffer, type BufferSpec } from './buffers.ts';
import { DeviceLostError, GpuValidationError, NoAdapterError } from './errors.ts';
import type { KernelDef } from './kernel.ts';
import { Matrix } from './matrix.ts';
import { PipelineCache, type CompiledKernel } from './pipelines.ts';
import { ScratchPool } from './scratch.ts';
import { Step, type Command, type DispatchCommand, type StepHost } from './step.ts';
import { summarizeAdapter } from './adapter.ts';

export { ADAPTER_CLASSES, adapterClass, adapterLine, describeAdapter, summarizeAdapter, type AdapterClass, type AdapterSummary, type GpuWait } from './adapter.ts';

/** Limits we raise to the adapter's maximum: the engine's buffers and workgroups are sized against them. */
const RAISED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
] as const;

export interface RequestOptions {
  host: 'node' | 'browser';
  powerPreference?: GPUPowerPreference;
  /** 'compatibility' admits adapters that lack core WebGPU (Dawn's OpenGL ES backend); 'core' by default. */
  featureLevel?: 'core' | 'compatibility';
  note?: string;
  /** How the host waits for the device's promises (src/cli/dawn-wait.ts in Node); as they are, by default. */
  wait?: GpuWait;
}

/** Acquires a device from a WebGPU entry point, with the adapter's maximum buffer and workgroup limits. */
export async function requestGpu(entry: GPU, options: RequestOptions): Promise<Gpu> {
  const adapter = await entry.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance', ...(options.featureLevel ? { featureLevel: options.featureLevel } : {}) } as GPURequestAdapterOptions);
  if (!adapter) {
    throw new NoAdapterError(
      options.host === 'browser'
        ? 'the browser gave no WebGPU adapter: use a browser with WebGPU enabled (Chrome 113+, or Chromium with --enable-unsafe-webgpu)'
        : 'the webgpu package found no adapter: install a Vulkan driver, or Chromium for its SwiftShader driver (apt-get install chromium libvulkan1)',
    );
  }
  return Gpu.fromAdapter(adapter, options);
}

export class Gpu implements StepHost {
  readonly pipelines: PipelineCache;
  readonly timestamps: boolean;
  /** Whether WGSL may `enable subgroups;` on this device (the feature was offered and requested). */
  readonly subgroups: boolean;
  private lostInfo: GPUDeviceLostInfo | null = null;
  private readonly lost: Promise<GPUDeviceLostInfo>;
  private uncaptured: string | null = null;
  private uniformArena: GPUBuffer | null = null;
  private readonly scratchPool: ScratchPool;
  private readonly bindGroups: BindGroupCache;

  private constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterSummary,
    /** The limits asked for: the adapter's maximum of each limit in RAISED_LIMITS. */
    readonly requestedLimits: Readonly<Record<string, number>>,
    private readonly wait: GpuWait = (work) => work,
  ) {
    this.pipelines = new PipelineCache(device, wait);
    this.bindGroups = new BindGroupCache(device);
    this.scratchPool = new ScratchPool(
      (size) =>
        this.createBuffer({
          label: 'scratch',
          size,
          usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
          shrink: 'split the operation into smaller parts',
        }),
      device.limits.maxStorageBufferBindingSize,
    );
    this.timestamps = device.features.has('timestamp-query');
    this.subgroups = device.features.has('subgroups' as GPUFeatureName);
    this.lost = device.lost.then((info) => (this.lostInfo = info));
    device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      this.uncaptured ??= ev.error.message;
    };
  }

  static async fromAdapter(adapter: GPUAdapter, options: RequestOptions): Promise<Gpu> {
    const requiredLimits: Record<string, number> = {};
    for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
    const wanted = ['timestamp-query', 'subgroups'] as GPUFeatureName[];
    const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
    const device = await adapter.requestDevice({ label: 'catapult-lab', requiredLimits, requiredFeatures });
    // Only an adapter asked for in compatibility mode can lack core WebGPU (older Dawn builds name no such feature).
    const core = options.featureLevel !== 'compatibility' || adapter.features.has('core-features-and-limits' as GPUFeatureName);
    return new Gpu(device, summarizeAdapter(adapter.info, options.host, options.note, core), requiredLimits, options.wait);
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  /** Compiles kernels ahead of the steps that use them (done once per key; later calls return at once). */
  async prepare(defs: readonly KernelDef<any>[]): Promise<void> {
    await Promise.all(defs.map((d) => this.pipelines.get(d)));
  }

  compiled(key: string): CompiledKernel | undefined {
    return this.pipelines.peek(key);
  }

  acquireScratch(bytes: number): GPUBuffer {
    return this.scratchPool.acquire(bytes);
  }

  /** Bytes of the buffers created through this device and not yet destroyed, and the most there were at once. */
  liveBytes = 0;
  peakBytes = 0;

  /** Destroys the scratch buffers no step holds (so that a measured peak starts from the live state). */
  trimScratch(): void {
    this.scratchPool.destroy();
  }

  /** Starts a new peak from what is live now (benchmarks report the peak of one operation). */
  resetPeak(): void {
    this.peakBytes = this.liveBytes;
  }

  createBuffer(spec: BufferSpec): GPUBuffer {
    this.throwIfLost();
    const buffer = createCheckedBuffer(this.device, spec);
    // Counted until destroy(): the engine's only memory figure (WebGPU reports none).
    const size = buffer.size;
    this.liveBytes += size;
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes);
    const destroy = buffer.destroy.bind(buffer);
    let counted = true;
    buffer.destroy = () => {
      if (counted) this.liveBytes -= size;
      counted = false;
      destroy();
    };
    return buffer;
  }

  /** A storage matrix, zero-filled or initialized from `data` (row-major, rows*cols values). */
  matrix(label: string, rows: number, cols: number, data?: ArrayLike<number>, shrink?: string): Matrix {
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
      throw new RangeError(`matrix "${label}": rows and cols must be integers >= 0, got ${rows}×${cols}`);
    }
    const buffer = this.createBuffer({
      label,
      size: rows * cols * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      shrink,
    });
    if (data) {
      if (data.length !== rows * cols) {
        throw new RangeError(`matrix "${label}": ${rows}×${cols} needs ${rows * cols} values, got ${data.length}`);
      }
      this.write(buffer, data instanceof Float32Array ? data : Float32Array.from(data));
    }
    return new Matrix(buffer, rows, cols);
  }

  /**
   * A rows×cols view of `parent` from `byteOffset` on, which must be a multiple of the device's
   * minStorageBufferOffsetAlignment (256 bytes on most adapters). WebGPU validates usage per buffer, not per
   * range: one dispatch may read several views of a buffer, or write one, but not read one and write another.
   */
  view(parent: GPUBuffer, byteOffset: number, rows: number, cols: number): Matrix {
    const align = this.device.limits.minStorageBufferOffsetAlignment;
    if (byteOffset % align !== 0) throw new RangeError(`view of "${parent.label}": offset ${byteOffset} is not a multiple of ${align} bytes`);
    if (byteOffset + rows * cols * 4 > parent.size) {
      throw new RangeError(`view of "${parent.label}": ${rows}×${cols} from byte ${byteOffset} passes its end (${parent.size} bytes)`);
    }
    return new Matrix(parent, rows, cols, byteOffset);
  }

  /** A storage buffer of u32 values (index lists). */
  indices(label: string, values: ArrayLike<number>): GPUBuffer {
    const buffer = this.createBuffer({
      label,
      size: values.length * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    if (values.length > 0) this.write(buffer, values instanceof Uint32Array ? values : Uint32Array.from(values));
    return buffer;
  }

  write(buffer: GPUBuffer, data: Float32Array | Uint32Array, byteOffset = 0): void {
    this.throwIfLost();
    this.device.queue.writeBuffer(buffer, byteOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  step(label: string): Step {
    return new Step(this, label);
  }

  /** Encodes the step into one command encoder and submits it. Returns without waiting for the GPU. */
  submit(step: Step): void {
    this.device.queue.submit([this.encode(step, null)]);
    this.releaseScratch(step);
  }

  private releaseScratch(step: Step): void {
    this.scratchPool.release(step.scratchBuffers.splice(0));
  }

  /**
   * Submits a step with timestamp queries around its compute passes and resolves to the GPU time in
   * nanoseconds from the start of its first pass to the end of its last. Needs `timestamps`.
   */
  async submitTimed(step: Step): Promise<number> {
    if (!this.timestamps) throw new Error('this adapter has no timestamp-query feature; time with wall clock instead');
    if (!step.commands.some((c) => c.kind === 'dispatch')) {
      throw new Error(`step "${step.label}" has no dispatch to time (were its operations awaited before submitting?)`);
    }
    const querySet = this.device.createQuerySet({ type: 'timestamp', count: 2 });
    const resolve = this.device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const staging = this.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    try {
      const encoder = this.encode(step, querySet, (enc) => {
        enc.resolveQuerySet(querySet, 0, 2, resolve, 0);
        enc.copyBufferToBuffer(resolve, 0, staging, 0, 16);
      });
      this.device.queue.submit([encoder]);
      this.releaseScratch(step);
      await this.untilLost(staging.mapAsync(GPUMapMode.READ));
      const [begin, end] = new BigUint64Array(staging.getMappedRange());
      staging.unmap();
      this.throwIfError();
      return Number(end - begin);
    } finally {
      querySet.destroy();
      resolve.destroy();
      staging.destroy();
    }
  }

  /** Resolves when all submitted work is done; rejects if the device is lost or a GPU error was raised. */
  async done(): Promise<void> {
    this.throwIfLost();
    await this.untilLost(this.device.queue.onSubmittedWorkDone());
    this.throwIfError();
  }

  /** Reads a buffer (or a byte range of it) back as float32 values. */
  async read(src: GPUBuffer | Matrix, byteOffset = 0, byteLength?: number): Promise<Float32Array> {
    return new Float32Array(await this.readBytes(src, byteOffset, byteLength));
  }

  /** Gives the device back. The Gpu is unusable afterwards. */
  destroy(): void {
    this.uniformArena?.destroy();
    this.scratchPool.destroy();
    this.device.destroy();
  }

  get isLost(): boolean {
    return this.lostInfo !== null;
  }

  private async readBytes(src: GPUBuffer | Matrix, byteOffset: number, byteLength?: number): Promise<ArrayBuffer> {
    this.throwIfLost();
    const buffer = src instanceof Matrix ? src.buffer : src;
    const base = src instanceof Matrix ? src.offset : 0;
    const size = byteLength ?? (src instanceof Matrix ? src.length * 4 : buffer.size - byteOffset);
    if (size === 0) return new ArrayBuffer(0);
    const staging = this.createBuffer({
      label: `readback of ${buffer.label}`,
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      shrink: 'read back a smaller range',
    });
    try {
      const encoder = this.device.createCommandEncoder({ label: staging.label });
      encoder.copyBufferToBuffer(buffer, base + byteOffset, staging, 0, staging.size);
      this.device.queue.submit([encoder.finish()]);
      await this.untilLost(staging.mapAsync(GPUMapMode.READ));
      const bytes = staging.getMappedRange().slice(0, size);
      staging.unmap();
      this.throwIfError();
      return bytes;
    } finally {
      staging.destroy();
    }
  }

  private encode(step: Step, querySet: GPUQuerySet | null, finish?: (enc: GPUCommandEncoder) => void): GPUCommandBuffer {
    this.throwIfLost();
    const { device } = this;
    const uniformOffsets = this.writeUniforms(step.commands);
    const encoder = device.createCommandEncoder({ label: step.label });

    // Group consecutive dispatches into passes so timestamps can bracket the first and last pass.
    const segments: (DispatchCommand[] | Command)[] = [];
    for (const c of step.commands) {
      const last = segments[segments.length - 1];
      if (c.kind === 'dispatch' && Array.isArray(last)) last.push(c);
      else segments.push(c.kind === 'dispatch' ? [c] : c);
    }
    const passes = segments.filter(Array.isArray).length;
    let passIndex = 0;
    let dispatchIndex = 0;
    for (const seg of segments) {
      if (!Array.isArray(seg)) {
        const c = seg as Command & { kind: 'copy' };
        encoder.copyBufferToBuffer(c.src, c.srcOffset, c.dst, c.dstOffset, c.size);
        continue;
      }
      const timestampWrites: GPUComputePassTimestampWrites | undefined =
        querySet && (passIndex === 0 || passIndex === passes - 1)
          ? {
              querySet,
              ...(passIndex === 0 ? { beginningOfPassWriteIndex: 0 } : {}),
              ...(passIndex === passes - 1 ? { endOfPassWriteIndex: 1 } : {}),
            }
          : undefined;
      const pass = encoder.beginComputePass({ label: step.label, ...(timestampWrites ? { timestampWrites } : {}) });
      for (const d of seg) {
        const offset = uniformOffsets[dispatchIndex++];
        const group = this.bindGroups.get(d.kernel, d.buffers, this.uniformArena, offset, d.uniforms?.byteLength ?? 0);
        pass.setPipeline(d.kernel.pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(d.grid[0], d.grid[1], d.grid[2]);
      }
      pass.end();
      passIndex++;
    }
    finish?.(encoder);
    return encoder.finish();
  }

  /**
   * Packs the uniforms of all dispatches of a step into one buffer, one aligned slot each, written once.
   * Reusing the buffer across steps is safe: queue writes and submits execute in queue order.
   */
  private writeUniforms(commands: Command[]): number[] {
    const align = this.device.limits.minUniformBufferOffsetAlignment;
    const offsets: number[] = [];
    let total = 0;
    for (const c of commands) {
      if (c.kind !== 'dispatch') continue;
      offsets.push(total);
      if (c.uniforms) total += Math.ceil(c.uniforms.byteLength / align) * align;
    }
    if (total === 0) return offsets;
    if (!this.uniformArena || this.uniformArena.size < total) {
      this.uniformArena?.destroy();
      const size = Math.max(total, 2 * (this.uniformArena?.size ?? 0), 64 * align);
      this.uniformArena = this.createBuffer({ label: 'uniform arena', size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    }
    const words = new Uint32Array(total / 4);
    let i = 0;
    for (const c of commands) {
      if (c.kind !== 'dispatch') continue;
      if (c.uniforms) words.set(c.uniforms, offsets[i] / 4);
      i++;
    }
    this.write(this.uniformArena, words);
    return offsets;
  }

  /**
   * After an error: the DeviceLostError if the device is lost, waiting up to `ms` for the loss to be
   * reported (a destroyed device rejects pending maps before its lost promise settles), else null.
   */
  async lostError(ms = 1000): Promise<DeviceLostError | null> {
    if (!this.lostInfo) await Promise.race([this.lost, new Promise((r) => setTimeout(r, ms))]);
    return this.lostInfo ? new DeviceLostError(this.lostInfo.reason, this.lostInfo.message) : null;
  }

  private throwIfLost(): void {
    if (this.lostInfo) throw new DeviceLostError(this.lostInfo.reason, this.lostInfo.message);
  }

  private throwIfError(): void {
    if (this.uncaptured) {
      const message = this.uncaptured;
      this.uncaptured = null;
      throw new GpuValidationError(`GPU error: ${message}`);
    }
  }

  /** Waits for `p` unless the device is lost first, so a lost device surfaces as an error, never a hang. */
  private untilLost<T>(p: Promise<T>): Promise<T> {
    const lost = this.lost.then((info): never => {
      throw new DeviceLostError(info.reason, info.message);
    });
    // A map that fails because the device went away reports the loss, not the map's bare error.
    const work = this.wait(p).catch((e: unknown) => {
      if (this.lostInfo) throw new DeviceLostError(this.lostInfo.reason, this.lostInfo.message);
      throw e;
    });
    return Promise.race([work, lost]);
  }
}
