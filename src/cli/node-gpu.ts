// Node host: a WebGPU device from the `webgpu` package (Dawn). When no hardware adapter is found, retry with
// Chromium's SwiftShader Vulkan driver, which runs the same WGSL on the CPU, and say so.
import { existsSync } from 'node:fs';
import { create, globals } from 'webgpu';
import { NoAdapterError } from '../gpu/errors.ts';
import { Gpu, type RequestOptions } from '../gpu/gpu.ts';

/** Where Debian's chromium package puts SwiftShader's Vulkan driver manifest. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

// Dawn's GPU objects crash the process when collected; keep every entry point alive for the process' life.
const entryPoints: GPU[] = [];

export interface NodeGpuOptions {
  powerPreference?: GPUPowerPreference;
  /** 'auto' (hardware, else SwiftShader), 'hardware' (fail without one), 'swiftshader' (force the CPU driver). */
  adapter?: 'auto' | 'hardware' | 'swiftshader';
}

async function tryAdapter(powerPreference: GPUPowerPreference): Promise<GPUAdapter | null> {
  Object.assign(globalThis, globals);
  const entry = create([]);
  entryPoints.push(entry);
  return entry.requestAdapter({ powerPreference });
}

export async function requestNodeGpu(options: NodeGpuOptions = {}): Promise<Gpu> {
  const powerPreference = options.powerPreference ?? 'high-performance';
  const mode = options.adapter ?? (process.env.CATAPULT_ADAPTER as NodeGpuOptions['adapter']) ?? 'auto';
  if (!['auto', 'hardware', 'swiftshader'].includes(mode)) {
    throw new RangeError(`adapter must be one of auto, hardware, swiftshader; got "${mode}"`);
  }
  const base: RequestOptions = { host: 'node', powerPreference };
  const presetIcd = process.env.VK_ICD_FILENAMES ?? process.env.VK_DRIVER_FILES;

  if (mode !== 'swiftshader') {
    const adapter = await tryAdapter(powerPreference);
    if (adapter) {
      const note = presetIcd ? `Vulkan drivers from ${presetIcd}` : undefined;
      return Gpu.fromAdapter(adapter, { ...base, note });
    }
    if (mode === 'hardware') {
      throw new NoAdapterError('no hardware WebGPU adapter was found by the webgpu package (Dawn); check the Vulkan driver (vulkaninfo) and libvulkan1');
    }
  }
  if (!existsSync(SWIFTSHADER_ICD)) {
    throw new NoAdapterError(
      `no WebGPU adapter: the webgpu package found no hardware adapter and SwiftShader's driver is not at ${SWIFTSHADER_ICD}. ` +
        'On Debian: apt-get install -y chromium libvulkan1 (SwiftShader runs WebGPU on the CPU), or install a GPU Vulkan driver.',
    );
  }
  // The Vulkan loader reads this variable each time Dawn creates an instance, so a second create() sees it.
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  const adapter = await tryAdapter(powerPreference);
  if (!adapter) {
    throw new NoAdapterError(`no WebGPU adapter, even with SwiftShader (${SWIFTSHADER_ICD}); is libvulkan1 installed?`);
  }
  const note =
    mode === 'swiftshader'
      ? `SwiftShader forced (${SWIFTSHADER_ICD})`
      : `no hardware adapter found; fell back to SwiftShader (${SWIFTSHADER_ICD}), which runs on the CPU`;
  return Gpu.fromAdapter(adapter, { ...base, note });
}
