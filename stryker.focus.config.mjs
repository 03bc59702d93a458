/**
 * A faster Stryker run for one area: the same settings as stryker.config.mjs, but vitest
 * runs only the unit-level tests of the area named by STRYKER_FOCUS (see
 * vitest.stryker-focus.config.ts), not every in-process server test that imports it.
 *
 * Why: on this two-core machine the full related set (every in-process test boots a
 * server) does not finish Stryker's initial run in 5 minutes, and each pipeline mutant
 * would re-run dozens of server tests. The score of a focused run is a lower bound: a
 * mutant it reports as surviving may still be killed by an in-process test.
 *
 *   STRYKER_FOCUS=guard npx stryker run stryker.focus.config.mjs --mutate src/policy/opt-out-guard.ts
 *   STRYKER_FOCUS=webhooks npx stryker run stryker.focus.config.mjs --mutate 'src/webhooks/*.ts'
 */
import base from './stryker.config.mjs';

export default {
  ...base,
  vitest: { configFile: 'vitest.stryker-focus.config.ts', related: true },
  dryRunTimeoutMinutes: 15,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: `reports/mutation-${process.env.STRYKER_FOCUS ?? 'guard'}.json` },
};
