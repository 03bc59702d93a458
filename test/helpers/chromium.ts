/**
 * Debian's Chromium for browser tests, driven by playwright-core (never a downloaded
 * browser). `npm test` on a machine without it skips the browser tests and says so in one
 * line; `.ci/run` sets TWILIO_MCP_REQUIRE_CHROMIUM=1, which turns a missing browser into a
 * failure instead.
 */
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why browser tests cannot run here (undefined: they can). */
export function chromiumMissing(): string | undefined {
  if (existsSync(CHROMIUM_PATH)) return undefined;
  const why = `browser tests skipped: no Chromium at ${CHROMIUM_PATH} (apt-get install chromium)`;
  if (process.env.TWILIO_MCP_REQUIRE_CHROMIUM === '1') throw new Error(`${why}, and TWILIO_MCP_REQUIRE_CHROMIUM=1 requires it`);
  console.warn(why);
  return why;
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
}
