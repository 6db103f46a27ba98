import { resolve } from 'node:path';
import { defineConfig } from 'vite';

export default defineConfig({
  // Relative asset paths: the built site works when served from any folder.
  base: './',
  server: { host: 'localhost' },
  build: {
    target: 'es2022',
    rollupOptions: {
      input: {
        main: resolve(import.meta.dirname, 'index.html'),
        kernels: resolve(import.meta.dirname, 'e2e/kernels.html'),
      },
    },
  },
});
