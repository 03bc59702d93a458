/**
 * The test set of a focused Stryker run (stryker.focus.config.mjs): the unit-level tests of
 * one area, chosen by STRYKER_FOCUS. Each still runs the real code (real SQLite store, real
 * policy engine); they just do not boot a whole server per test.
 */
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

const FOCUS: Record<string, string[]> = {
  guard: ['test/pipeline/send-pipeline.test.ts', 'test/pipeline/pipeline-survivors.test.ts', 'test/policy/**/*.test.ts'],
  // Not durability.test.ts: it spawns a child process, which never sees a mutant.
  webhooks: ['test/webhooks/{receiver,receiver-flow,ingest-queue,relay-socket,voice-routes,webhook-survivors}.test.ts'],
  policy: ['test/policy/**/*.test.ts'],
  // The webhooks set plus the survivor tests of the second mutation pass (receiver, relay, voice routes).
  webhooks2: ['test/webhooks/{receiver,receiver-flow,ingest-queue,relay-socket,voice-routes,webhook-survivors,receiver-survivors,relay-voice-survivors}.test.ts'],
};

const focus = process.env.STRYKER_FOCUS ?? 'guard';
const include = FOCUS[focus];
if (!include) throw new Error(`STRYKER_FOCUS=${focus}: expected one of ${Object.keys(FOCUS).join(', ')}`);

// Not mergeConfig: it would append to the base include (every test) instead of replacing it.
export default defineConfig({ ...base, test: { ...base.test, include } });
