// Errors the engine raises about the GPU. Each names what went wrong and what the user can do.

export class NoAdapterError extends Error {
  override name = 'NoAdapterError';
}

/** A config too large for this device: the user's to change (a RangeError, so the command line exits 2). */
export class BufferLimitError extends RangeError {
  override name = 'BufferLimitError';
  constructor(
    readonly label: string,
    readonly limit: 'maxBufferSize' | 'maxStorageBufferBindingSize',
    readonly requested: number,
    readonly allowed: number,
    shrink: string,
  ) {
    super(
      `buffer "${label}" needs ${formatBytes(requested)} (${requested} bytes), over this device's ` +
        `${limit} of ${formatBytes(allowed)} (${allowed} bytes); to fit, ${shrink}`,
    );
  }
}

export interface CompileMessage {
  type: string;
  lineNum: number;
  linePos: number;
  message: string;
}

export class KernelCompileError extends Error {
  override name = 'KernelCompileError';
  constructor(
    readonly kernel: string,
    readonly source: string,
    readonly messages: CompileMessage[],
  ) {
    const what = messages.map((m) => `  ${m.type} at line ${m.lineNum}:${m.linePos}: ${m.message}`).join('\n');
    super(`kernel "${kernel}" failed to compile:\n${what}\n--- WGSL of "${kernel}" ---\n${numberLines(source)}`);
  }
}

export class DeviceLostError extends Error {
  override name = 'DeviceLostError';
  constructor(readonly reason: string, detail: string) {
    super(`the GPU device was lost (${reason}${detail ? `: ${detail}` : ''}); metrics read back before this point are kept`);
  }
}

export class GpuValidationError extends Error {
  override name = 'GpuValidationError';
}

export function numberLines(source: string): string {
  const lines = source.split('\n');
  const width = String(lines.length).length;
  return lines.map((line, i) => `${String(i + 1).padStart(width)} | ${line}`).join('\n');
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  let v = n;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 2)} ${units[u]}`;
}
