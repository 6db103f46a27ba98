import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

const root = import.meta.dirname;

/**
 * The bundled datasets go into the built site as data/…, where presets fetch them relative to the page
 * (the dev server serves them from the repository's data/ folder).
 */
function bundledData(): Plugin {
  let outDir = 'dist';
  return {
    name: 'catapult-bundled-data',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    writeBundle() {
      mkdirSync(join(outDir, 'data'), { recursive: true });
      for (const f of readdirSync(join(root, 'data'))) if (f.endsWith('.gz')) cpSync(join(root, 'data', f), join(outDir, 'data', f));
    },
  };
}

export default defineConfig({
  // Relative asset paths: the built site works when served from any folder.
  base: './',
  server: { host: 'localhost' },
  plugins: [bundledData()],
  build: {
    target: 'es2022',
    rollupOptions: {
      input: {
        main: resolve(root, 'index.html'),
        kernels: resolve(root, 'e2e/kernels.html'),
      },
    },
  },
});
