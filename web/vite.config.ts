import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/**
 * Writes a `.br` and a `.gz` beside every script, style and SVG of the build, compressed
 * once and as hard as each format goes; the server sends the one the browser accepts
 * (@fastify/static's preCompressed) instead of compressing on every request.
 */
function precompress(): Plugin {
  return {
    name: 'gatehouse-precompress',
    apply: 'build',
    enforce: 'post',
    // After the files are written: their final bytes (Vite edits chunks up to the last hook).
    async writeBundle(options, bundle) {
      const dir = options.dir ?? 'dist';
      for (const fileName of Object.keys(bundle)) {
        if (!/\.(js|css|svg)$/.test(fileName)) continue;
        const file = path.join(dir, fileName);
        const bytes = await readFile(file);
        if (bytes.length < 1024) continue;
        await writeFile(
          `${file}.br`,
          brotliCompressSync(bytes, {
            params: {
              [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
              [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
            },
          }),
        );
        await writeFile(`${file}.gz`, gzipSync(bytes, { level: 9 }));
      }
    },
  };
}

// Run as `vite build web`: the root (and so index.html and outDir `dist`) is web/.
// The manifest (dist/.vite/manifest.json) tells the server which chunk each page needs.
export default defineConfig({
  plugins: [react(), precompress()],
  build: { outDir: 'dist', emptyOutDir: true, manifest: true },
  server: { proxy: { '/api': 'http://127.0.0.1:3000' } },
});
