// Bundles bench/device.ts and everything it imports into one ES module for Node (scripts/bench-device.sh).
// `webgpu` stays outside (it loads its native dawn.node from beside itself), and so does Playwright, which only
// report PNGs import (dynamically) and which a device run never writes.
import { dirname, resolve } from 'node:path';
import { build } from 'vite';

const out = resolve(process.argv[2] ?? '.device/bench.js');
await build({
  configFile: false,
  logLevel: 'warn',
  build: {
    ssr: resolve(import.meta.dirname, '../bench/device.ts'),
    outDir: dirname(out),
    emptyOutDir: false,
    target: 'node20',
    minify: false,
    rollupOptions: { output: { format: 'es', entryFileNames: out.split('/').pop()!, codeSplitting: false } },
  },
  ssr: { noExternal: true, external: ['webgpu', 'playwright'] },
});
