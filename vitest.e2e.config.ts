import { defineConfig } from 'vitest/config';

/** Browser tests (`npm run test:e2e`): a real server per file, driven in Debian's Chromium. */
export default defineConfig({
  test: {
    globalSetup: ['test/helpers/global-setup.ts', 'test/e2e/build-web.ts'],
    include: ['test/e2e/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
