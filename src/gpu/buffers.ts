// Every buffer the engine allocates goes through here, so that a size over the device's limits fails with a
// message that says which limit, what was asked and what to shrink, before anything is allocated.
import { BufferLimitError } from './errors.ts';

export interface BufferSpec {
  label: string;
  /** Size in bytes; rounded up to a multiple of 4 (copies need it) and to at least 4. */
  size: number;
  usage: GPUBufferUsageFlags;
  /** What the caller can make smaller, for the error message ("reduce the batch size", ...). */
  shrink?: string;
}

export interface SizeLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

export function paddedSize(bytes: number): number {
  return Math.max(4, Math.ceil(bytes / 4) * 4);
}

/** Throws BufferLimitError when the buffer could not be created or bound on this device. */
export function checkBufferSpec(limits: SizeLimits, spec: BufferSpec): void {
  if (!Number.isFinite(spec.size) || spec.size < 0) {
    throw new RangeError(`buffer "${spec.label}": size must be a finite number of bytes >= 0, got ${spec.size}`);
  }
  const size = paddedSize(spec.size);
  const shrink = spec.shrink ?? 'use smaller shapes or split the work into chunks';
  // A storage buffer is bound whole, so the binding limit is the one that bites (it is <= maxBufferSize).
  if (spec.usage & GPUBufferUsage.STORAGE && size > limits.maxStorageBufferBindingSize) {
    throw new BufferLimitError(spec.label, 'maxStorageBufferBindingSize', size, limits.maxStorageBufferBindingSize, shrink);
  }
  if (size > limits.maxBufferSize) {
    throw new BufferLimitError(spec.label, 'maxBufferSize', size, limits.maxBufferSize, shrink);
  }
}

export function createCheckedBuffer(device: GPUDevice, spec: BufferSpec): GPUBuffer {
  checkBufferSpec(device.limits, spec);
  return device.createBuffer({ label: spec.label, size: paddedSize(spec.size), usage: spec.usage });
}
