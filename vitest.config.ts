import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each e2e file spawns real servers; two cores, so keep parallelism modest.
    maxWorkers: 2,
  },
});
