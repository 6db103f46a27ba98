import { defineConfig } from '@playwright/test';

const port = Number(process.env.E2E_PORT ?? 5179);

// Playwright cannot download its own browsers here: use the system Chromium (Debian package chromium).
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const flags = ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export default defineConfig({
  testDir: 'e2e',
  timeout: 120_000,
  workers: 1,
  reporter: [['list']],
  outputDir: 'test-results',
  globalSetup: './e2e/global-setup.ts',
  use: { baseURL: `http://localhost:${port}`, browserName: 'chromium' },
  projects: [
    {
      // Chromium's core WebGPU adapter where there is no GPU: SwiftShader. Every browser test runs here.
      name: 'swiftshader',
      use: { launchOptions: { executablePath: chromium, args: flags } },
    },
    {
      // Mesa's llvmpipe, the CPU driver lavapipe is built on, reached through Dawn's OpenGL ES backend over
      // ANGLE in compatibility mode: Chromium lists lavapipe's Vulkan adapter but blocklists CPU Vulkan
      // adapters other than its own SwiftShader. A second compiler path (WGSL to GLSL) for the kernel
      // checks and a training run; the lab itself asks for core WebGPU, as a user's Chrome does.
      name: 'llvmpipe-gles',
      testMatch: /(kernels|train)\.spec\.ts/,
      metadata: { pageQuery: '?featureLevel=compatibility' },
      use: { launchOptions: { executablePath: chromium, args: [...flags, '--use-webgpu-adapter=opengles'] } },
    },
  ],
  webServer: {
    command: `npx vite --port ${port} --strictPort`,
    url: `http://localhost:${port}/e2e/kernels.html`,
    reuseExistingServer: !process.env.CI,
    timeout: 60_000,
  },
});
