/**
 * Mutation testing of the guard: `npm run mutate` (not part of `npm test`: minutes, not seconds).
 *
 * Stryker mutates `src` inside the vitest process, so only tests that import the source
 * can kill a mutant; the e2e tests that spawn dist/ never see one. That is why the
 * guard's behaviour is tested in-process too (test/inprocess, through the real server
 * factory).
 *
 * One file at a time: npm run mutate -- --mutate src/policy/opt-out-guard.ts
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: ['src/policy/**/*.ts', 'src/webhooks/**/*.ts', 'src/pipeline/**/*.ts'],
  // Vitest's related mode picks the tests whose imports reach the mutated file: the
  // in-process, policy, webhook and fuzz tests, never the e2e tests that spawn dist/.
  // (Not `testFiles`: with it Stryker 9.5.1 activates every mutant at run time, after the
  // modules loaded, so mutants of module-level constants such as the keyword sets survive.)
  vitest: { configFile: 'vitest.stryker.config.ts', related: true },
  coverageAnalysis: 'perTest',
  // Two cores shared with other work: one test runner; slow in-process sends need headroom.
  concurrency: 1,
  timeoutMS: 30_000,
  reporters: ['clear-text', 'progress', 'html'],
  htmlReporter: { fileName: 'coverage/mutation/index.html' },
  thresholds: { high: 90, low: 80, break: null },
  ignorePatterns: ['dist', 'coverage', 'bench/.bench-tmp', '.bench-tmp'],
};
