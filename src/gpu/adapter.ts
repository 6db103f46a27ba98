// What the engine knows of an adapter before it has a device: its driver class (a GPU, or one of the CPU
// drivers, whose kernels are chosen apart), its summary as every command prints it, and how a host waits.
/**
 * The class of driver behind an adapter. Kernel variants are chosen per class from measurements on it
 * (src/kernels/gemm-choice.ts): CPU drivers and GPUs reward opposite kernel shapes, and the two CPU drivers differ.
 */
export type AdapterClass = 'gpu' | 'lavapipe' | 'swiftshader' | 'software';
export const ADAPTER_CLASSES: readonly AdapterClass[] = ['gpu', 'lavapipe', 'swiftshader', 'software'];

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for CPU implementations (SwiftShader, llvmpipe, WARP): their timings are not GPU timings. */
  isSoftware: boolean;
  /** Which driver class it is: Mesa's lavapipe (llvmpipe), SwiftShader, another CPU driver, or a GPU. */
  kind: AdapterClass;
  /** Subgroup sizes the adapter reports (lavapipe 8, SwiftShader 4, GPUs 32 or 64), where it reports them. */
  subgroupSizes?: [number, number];
  /** 'compatibility' for an adapter without core WebGPU (Dawn's OpenGL ES backend in Chromium). */
  featureLevel: 'core' | 'compatibility';
  host: 'node' | 'browser';
  /** How the adapter was found, e.g. that Node fell back to SwiftShader. */
  note?: string;
}

/** Resolves as the promise it is given does. */
export type GpuWait = <T>(work: Promise<T>) => Promise<T>;

/** The driver class of an adapter, from what its GPUAdapterInfo says. */
export function adapterClass(info: GPUAdapterInfo): AdapterClass {
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  if (/swiftshader/.test(text)) return 'swiftshader';
  if (/llvmpipe|lavapipe/.test(text)) return 'lavapipe';
  const fallback = (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return fallback || /warp|software|cpu/.test(text) ? 'software' : 'gpu';
}

export function summarizeAdapter(info: GPUAdapterInfo, host: 'node' | 'browser', note?: string, core = true): AdapterSummary {
  const kind = adapterClass(info);
  const sizes = info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  const summary: AdapterSummary = {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isSoftware: kind !== 'gpu',
    kind,
    featureLevel: core ? 'core' : 'compatibility',
    host,
  };
  if (sizes.subgroupMinSize && sizes.subgroupMaxSize) summary.subgroupSizes = [sizes.subgroupMinSize, sizes.subgroupMaxSize];
  if (note) summary.note = note;
  return summary;
}

export function describeAdapter(a: AdapterSummary): string {
  const name = [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' / ') || 'unnamed adapter';
  const driver = { gpu: 'hardware adapter', lavapipe: 'lavapipe, CPU', swiftshader: 'SwiftShader, CPU', software: 'software adapter, CPU' }[a.kind];
  return `${name} (${driver}${a.featureLevel === 'compatibility' ? ', compatibility mode' : ''}, ${a.host})`;
}

/** The adapter and how it was chosen, as every command and benchmark prints it first. */
export function adapterLine(a: AdapterSummary): string {
  return `adapter: ${describeAdapter(a)}${a.note ? `\n  chosen: ${a.note}` : ''}`;
}
