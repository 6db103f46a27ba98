// Node host: a WebGPU device from the `webgpu` package (Dawn) over the system's Vulkan loader. Drivers are
// tried in order: a hardware adapter, then Mesa's lavapipe, then Chromium's SwiftShader (both run the same
// WGSL on the CPU; lavapipe, LLVM-compiled and multithreaded, is the faster). The adapter's note says which
// driver was taken and why the ones before it were not.
import { existsSync, readdirSync } from 'node:fs';
import { create, globals } from 'webgpu';
import { NoAdapterError } from '../gpu/errors.ts';
import { Gpu, adapterClass, type RequestOptions } from '../gpu/gpu.ts';
import { dawnWait } from './dawn-wait.ts';

export type AdapterChoice = 'auto' | 'hardware' | 'lavapipe' | 'swiftshader';
export const ADAPTER_CHOICES: readonly AdapterChoice[] = ['auto', 'hardware', 'lavapipe', 'swiftshader'];

/** Where Debian's chromium package puts SwiftShader's Vulkan driver manifest. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
/** Where Mesa's packages put lavapipe's manifest (lvp_icd.json on Debian, lvp_icd.<arch>.json elsewhere). */
const ICD_FOLDERS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

// Dawn's GPU objects crash the process when collected; keep every entry point alive for the process' life.
const entryPoints: GPU[] = [];

/** The loader variables as the user set them, before any attempt here changed them. */
let userDrivers: Record<'VK_ICD_FILENAMES' | 'VK_DRIVER_FILES', string | undefined> | null = null;

export interface NodeGpuOptions {
  powerPreference?: GPUPowerPreference;
  /**
   * 'auto': the first of hardware, lavapipe, SwiftShader that gives an adapter; the others force one of them
   * and fail without it. Default: the CATAPULT_ADAPTER variable, else 'auto'.
   */
  adapter?: AdapterChoice;
}

/** The adapter choice named by `value` (a flag) or, without it, by CATAPULT_ADAPTER; RangeError if unknown. */
export function adapterChoice(value: string | undefined = process.env.CATAPULT_ADAPTER): AdapterChoice {
  const choice = value === undefined || value === '' ? 'auto' : value;
  if (!ADAPTER_CHOICES.includes(choice as AdapterChoice)) {
    const from = value === process.env.CATAPULT_ADAPTER ? 'CATAPULT_ADAPTER' : '--adapter';
    throw new RangeError(`${from} must be one of ${ADAPTER_CHOICES.join(', ')}; got "${choice}"`);
  }
  return choice as AdapterChoice;
}

/** lavapipe's manifest on this machine, or null. */
export function lavapipeIcd(): string | null {
  for (const folder of ICD_FOLDERS) {
    if (!existsSync(folder)) continue;
    const manifest = readdirSync(folder)
      .filter((f) => /^lvp_icd(\.[\w-]+)?\.json$/.test(f))
      .sort()[0];
    if (manifest) return `${folder}/${manifest}`;
  }
  return null;
}

/**
 * An adapter from a new Dawn instance whose Vulkan loader sees only the driver manifest `icd`, or the
 * system's drivers (and the caller's VK_ICD_FILENAMES / VK_DRIVER_FILES) when `icd` is null. The loader
 * reads these variables when Dawn creates an instance, so each attempt sets them first.
 */
async function adapterFrom(icd: string | null, powerPreference: GPUPowerPreference, inherited: Record<string, string | undefined>): Promise<GPUAdapter | null> {
  for (const name of ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES'] as const) {
    const value = icd ?? inherited[name];
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  Object.assign(globalThis, globals);
  const entry = create([]);
  entryPoints.push(entry);
  return entry.requestAdapter({ powerPreference });
}

const describe = (a: GPUAdapter) => [a.info.vendor, a.info.device, a.info.description].filter(Boolean).join(' / ');

export async function requestNodeGpu(options: NodeGpuOptions = {}): Promise<Gpu> {
  const powerPreference = options.powerPreference ?? 'high-performance';
  const choice = options.adapter ?? adapterChoice();
  const base: RequestOptions = { host: 'node', powerPreference, wait: dawnWait };
  userDrivers ??= { VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES, VK_DRIVER_FILES: process.env.VK_DRIVER_FILES };
  const inherited = userDrivers;
  const passed: string[] = [];
  const taken = (why: string) => [...passed, why].join('; ');

  if (choice === 'auto' || choice === 'hardware') {
    const adapter = await adapterFrom(null, powerPreference, inherited);
    const from = inherited.VK_ICD_FILENAMES ?? inherited.VK_DRIVER_FILES;
    if (adapter && adapterClass(adapter.info) === 'gpu') {
      return Gpu.fromAdapter(adapter, { ...base, note: taken(`hardware adapter${from ? ` (Vulkan drivers from ${from})` : ''}`) });
    }
    const why = adapter ? `the system's drivers offer only a CPU adapter (${describe(adapter)})` : 'the system\'s Vulkan drivers offer no adapter';
    if (choice === 'hardware') {
      throw new NoAdapterError(`no hardware WebGPU adapter: ${why}. Check the GPU's Vulkan driver (vulkaninfo) and libvulkan1, or use --adapter auto`);
    }
    passed.push(`no hardware adapter: ${why}`);
  }
  if (choice === 'auto' || choice === 'lavapipe') {
    const icd = lavapipeIcd();
    const adapter = icd ? await adapterFrom(icd, powerPreference, inherited) : null;
    if (adapter) return Gpu.fromAdapter(adapter, { ...base, note: taken(`lavapipe (${icd})`) });
    const why = icd
      ? `Dawn refused lavapipe at ${icd} (Mesa older than 24 lacks what Dawn requires; bash scripts/setup.sh installs a newer one)`
      : `no lavapipe manifest (lvp_icd*.json) in ${ICD_FOLDERS.join(', ')}; bash scripts/setup.sh installs it`;
    if (choice === 'lavapipe') throw new NoAdapterError(`no lavapipe adapter: ${why}`);
    passed.push(why);
  }
  if (!existsSync(SWIFTSHADER_ICD)) {
    throw new NoAdapterError(
      `no WebGPU adapter: ${taken(`SwiftShader's driver is not at ${SWIFTSHADER_ICD}`)}. ` +
        'On Debian: bash scripts/setup.sh (lavapipe, Chromium and its SwiftShader, libvulkan1), or install a GPU Vulkan driver.',
    );
  }
  const adapter = await adapterFrom(SWIFTSHADER_ICD, powerPreference, inherited);
  if (!adapter) throw new NoAdapterError(`no WebGPU adapter, even with SwiftShader (${SWIFTSHADER_ICD}); is libvulkan1 installed?`);
  return Gpu.fromAdapter(adapter, { ...base, note: taken(`SwiftShader${choice === 'swiftshader' ? ' forced' : ''} (${SWIFTSHADER_ICD})`) });
}
