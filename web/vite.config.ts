import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Run as `vite build web`: the root (and so index.html and outDir `dist`) is web/.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true },
  server: { proxy: { '/api': 'http://127.0.0.1:3000' } },
});
