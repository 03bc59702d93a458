/**
 * The MCP conformance suite (@modelcontextprotocol/conformance, under Node 22 from the
 * npm registry) against the built server over HTTP, with its fixtures registered by
 * MCP_CONFORMANCE_FIXTURES=1. Session mode: every scenario passes. Stateless mode: only the
 * scenarios in expected-failures-stateless.yml may fail.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { connectStdio, startHttpServer, type HttpServerProcess } from '../helpers/server-process.js';

const run = promisify(execFile);
const SUITE = '@modelcontextprotocol/conformance@0.1.16';
const SUITE_TIMEOUT_MS = 240_000;
const EXPECTED_STATELESS = readFileSync(fileURLToPath(new URL('./expected-failures-stateless.yml', import.meta.url)), 'utf8')
  .split('\n')
  .map((line) => /^-\s+(\S+)/.exec(line.trim())?.[1])
  .filter((name): name is string => Boolean(name))
  .sort();

interface Check {
  id: string;
  status: string;
  errorMessage?: string;
}

/** Runs the suite (or one scenario) and returns the failing checks per scenario. */
async function conformance(url: string, scenario?: string): Promise<Map<string, Check[]>> {
  const outDir = mkdtempSync(join(tmpdir(), 'mcp-conformance-'));
  const target = scenario ? `--scenario ${scenario}` : '--suite all';
  try {
    await run('npx', ['-y', '-p', 'node@22', '-p', SUITE, '-c', `conformance server --url ${url} ${target} -o ${outDir}`], {
      timeout: SUITE_TIMEOUT_MS,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch {
    // A failing scenario makes the CLI exit non-zero; the checks below say which.
  }
  const failures = new Map<string, Check[]>();
  for (const dir of readdirSync(outDir)) {
    const name = /^server-(.+)-\d{4}-\d\d-\d\dT/.exec(dir)?.[1];
    if (!name) continue;
    const checks = JSON.parse(readFileSync(join(outDir, dir, 'checks.json'), 'utf8')) as Check[];
    failures.set(name, checks.filter((c) => c.status === 'FAILURE'));
  }
  return failures;
}

let server: HttpServerProcess | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe('MCP conformance suite', () => {
  it('passes every scenario with sessions', async () => {
    server = await startHttpServer({ env: { MCP_CONFORMANCE_FIXTURES: '1' } });
    const results = await conformance(server.url);
    expect(results.size).toBeGreaterThanOrEqual(30);
    // elicitation-sep1034-defaults has been seen to time out now and then inside a full run
    // while passing on its own (see the issue note); a failing scenario gets one rerun alone.
    const failing = [...results].filter(([, checks]) => checks.length > 0).map(([name]) => name);
    const stillFailing: Record<string, Check[]> = {};
    for (const name of failing) {
      const again = (await conformance(server.url, name)).get(name);
      if (!again || again.length > 0) stillFailing[name] = again ?? [];
    }
    expect(stillFailing).toEqual({});
  }, 2 * SUITE_TIMEOUT_MS);

  it('fails only the expected scenarios in --stateless mode', async () => {
    server = await startHttpServer({ env: { MCP_CONFORMANCE_FIXTURES: '1' }, args: ['--stateless'] });
    const results = await conformance(server.url);
    expect(results.size).toBeGreaterThanOrEqual(30);
    const failing = [...results].filter(([, checks]) => checks.length > 0).map(([name]) => name).sort();
    expect(failing).toEqual(EXPECTED_STATELESS);
  }, SUITE_TIMEOUT_MS + 30_000);

  it('never registers the fixtures without MCP_CONFORMANCE_FIXTURES=1', async () => {
    const plain = await connectStdio();
    try {
      const { tools } = await plain.client.listTools();
      expect(tools.filter((t) => t.name.startsWith('test_') || t.name === 'json_schema_2020_12_tool')).toEqual([]);
    } finally {
      await plain.close();
    }
  });
});
