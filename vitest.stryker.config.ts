/**
 * The test set Stryker runs (stryker.config.mjs): everything in-process. Tests that spawn
 * the built server or child processes are left out — a child never sees a mutant, and
 * Stryker's sandbox copy has no dist/ to spawn.
 */
import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

export default mergeConfig(
  base,
  defineConfig({
    test: {
      exclude: [
        'node_modules/**',
        'test/e2e/**',
        'test/conformance/**',
        'test/integration/**',
        'test/inputs/cold-start.test.ts',
        'test/pipeline/two-processes.test.ts',
      ],
    },
  }),
);
