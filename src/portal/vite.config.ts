import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import path from 'node:path';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * One Vite project for both front ends: the citizen portal (index.html, served at /) and the
 * clinician view (clinician/index.html, served at /clinician). Output: dist/portal, served by
 * src/api/portal-routes.ts. Built by `npm run build:portal` (run automatically before start and test).
 */
export default defineConfig({
  root: here,
  base: '/',
  plugins: [react()],
  build: {
    outDir: path.resolve(here, '../../dist/portal'),
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
    rollupOptions: {
      // The design system's many small icon chunks make the timing report noise.
      checks: { pluginTimings: false },
      input: {
        citizen: path.resolve(here, 'index.html'),
        // Built once its app exists (the clinician view lands separately from the citizen portal).
        ...(fs.existsSync(path.resolve(here, 'clinician/main.tsx')) ? { clinician: path.resolve(here, 'clinician/index.html') } : {}),
      },
    },
  },
  css: {
    // The design system's SCSS still uses @import and global functions; its warnings are not ours.
    preprocessorOptions: { scss: { quietDeps: true, silenceDeprecations: ['import', 'global-builtin', 'color-functions', 'legacy-js-api', 'if-function'] } },
  },
  logLevel: 'warn',
});
