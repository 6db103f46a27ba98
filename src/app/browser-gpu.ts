// Browser host: the engine's device from navigator.gpu.
import { NoAdapterError } from '../gpu/errors.ts';
import { requestGpu, type Gpu } from '../gpu/gpu.ts';

export async function requestBrowserGpu(powerPreference: GPUPowerPreference = 'high-performance', featureLevel?: 'core' | 'compatibility'): Promise<Gpu> {
  if (!('gpu' in navigator) || !navigator.gpu) {
    throw new NoAdapterError(
      window.isSecureContext
        ? 'this browser has no WebGPU (navigator.gpu is missing): use Chrome or Edge 113+, or start Chromium with --enable-unsafe-webgpu'
        : 'WebGPU needs a secure context: open the page over https or from localhost',
    );
  }
  const gpu = await requestGpu(navigator.gpu, { host: 'browser', powerPreference, featureLevel });
  gpu.device.lost.then((info) => console.warn(`GPU device lost: ${info.reason} ${info.message}`));
  return gpu;
}
