/**
 * The MCP conformance suite (@modelcontextprotocol/conformance, pinned, run under Node 22
 * from the npm registry with npx, which caches both) against the BUILT server over HTTP on
 * 127.0.0.1, with the suite's fixtures registered by MCP_CONFORMANCE_FIXTURES=1.
 *
 * - Sessions (the default): every scenario passes.
 * - `--stateless`: exactly the scenarios in expected-failures-stateless.yml fail (a
 *   stateless 2025-era exchange cannot send a request back to the client).
 * - Without MCP_CONFORMANCE_FIXTURES=1 none of the fixtures exists.
 *
 * A scenario fails when one of its checks is a FAILURE, as in the suite's own summary;
 * WARNINGs (SHOULD-level SSE resumability hints) are printed, not asserted.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { connectStdio, startHttpServer, type HttpServerProcess } from '../helpers/server-process.js';

const SUITE_PACKAGE = '@modelcontextprotocol/conformance@0.1.16';
/** First run downloads Node 22 and the suite; later runs come from the npx cache in seconds. */
const SUITE_TIMEOUT_MS = 240_000;
/** The pinned suite's `--suite all` server scenarios and their SUCCESS checks (sessions). */
const MIN_SCENARIOS = 32;
const MIN_PASSED_CHECKS = 44;

/** The `server:` list of the suite-format YAML file. */
function expectedStatelessFailures(): string[] {
  const yaml = readFileSync(fileURLToPath(new URL('./expected-failures-stateless.yml', import.meta.url)), 'utf8');
  const names: string[] = [];
  let inServer = false;
  for (const raw of yaml.split('\n')) {
    const line = raw.replace(/#.*/, '').trimEnd();
    if (!line.trim()) continue;
    if (/^\S/.test(line)) inServer = line.trim() === 'server:';
    else if (inServer) {
      const item = /^\s+-\s+(\S+)$/.exec(line)?.[1];
      if (item) names.push(item);
    }
  }
  return names.sort();
}

interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | string;
  errorMessage?: string;
}

interface SuiteRun {
  /** Checks per scenario name, from the suite's output directory. */
  scenarios: Map<string, Check[]>;
  /** The suite's own SUMMARY block, for the log. */
  summary: string;
}

async function runSuite(url: string): Promise<SuiteRun> {
  expect(new URL(url).hostname).toBe('127.0.0.1');
  const outDir = mkdtempSync(join(tmpdir(), 'mcp-conformance-'));
  try {
    const command = `conformance server --url '${url}' --suite all -o '${outDir}'`;
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
      execFile(
        'npx',
        ['-y', '-p', 'node@22', '-p', SUITE_PACKAGE, '-c', command],
        {
          timeout: SUITE_TIMEOUT_MS,
          killSignal: 'SIGKILL',
          maxBuffer: 64 * 1024 * 1024,
          env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
        },
        // A failing scenario makes the CLI exit 1: the results below say which.
        (_error, stdout, stderr) => resolve({ stdout: String(stdout), stderr: String(stderr) }),
      );
    });
    const scenarios = new Map<string, Check[]>();
    for (const entry of readdirSync(outDir)) {
      const name = /^server-(.+)-\d{4}-\d\d-\d\dT/.exec(entry)?.[1];
      if (name) scenarios.set(name, JSON.parse(readFileSync(join(outDir, entry, 'checks.json'), 'utf8')) as Check[]);
    }
    const summary = stdout.slice(stdout.indexOf('=== SUMMARY ===')).trim();
    if (scenarios.size === 0) throw new Error(`the conformance suite produced no results.\nstdout:\n${stdout.slice(-4000)}\nstderr:\n${stderr.slice(-4000)}`);
    return { scenarios, summary };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

const failing = (run: SuiteRun) =>
  [...run.scenarios].filter(([, checks]) => checks.some((c) => c.status === 'FAILURE')).map(([name]) => name).sort();
const failureDetails = (run: SuiteRun, names: string[]) =>
  Object.fromEntries(names.map((name) => [name, run.scenarios.get(name)!.filter((c) => c.status === 'FAILURE').map((c) => `${c.id}: ${c.errorMessage ?? ''}`)]));
const passedChecks = (run: SuiteRun) => [...run.scenarios.values()].flat().filter((c) => c.status === 'SUCCESS').length;
function logRun(mode: string, run: SuiteRun): void {
  const warnings = [...run.scenarios].flatMap(([name, checks]) => checks.filter((c) => c.status === 'WARNING').map((c) => `${name}/${c.id}`));
  console.log(`conformance (${mode}):\n${run.summary}${warnings.length ? `\nwarnings: ${warnings.join(', ')}` : ''}`);
}

let server: HttpServerProcess | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe('MCP conformance suite', () => {
  it(
    'passes every scenario with sessions',
    async () => {
      server = await startHttpServer({ env: { MCP_CONFORMANCE_FIXTURES: '1' } });
      const run = await runSuite(server.url);
      logRun('sessions', run);
      const failed = failing(run);
      expect(failureDetails(run, failed)).toEqual({});
      expect(run.scenarios.size).toBeGreaterThanOrEqual(MIN_SCENARIOS);
      expect(passedChecks(run)).toBeGreaterThanOrEqual(MIN_PASSED_CHECKS);
    },
    SUITE_TIMEOUT_MS + 30_000,
  );

  it(
    'fails exactly the expected scenarios in --stateless mode',
    async () => {
      server = await startHttpServer({ env: { MCP_CONFORMANCE_FIXTURES: '1' }, args: ['--stateless'] });
      const run = await runSuite(server.url);
      logRun('stateless', run);
      const expected = expectedStatelessFailures();
      expect(expected.length).toBeGreaterThan(0);
      const failed = failing(run);
      // Unexpected failures with their messages; then nothing expected that now passes.
      expect(failureDetails(run, failed.filter((name) => !expected.includes(name)))).toEqual({});
      expect(failed).toEqual(expected);
      expect(run.scenarios.size).toBeGreaterThanOrEqual(MIN_SCENARIOS);
    },
    SUITE_TIMEOUT_MS + 30_000,
  );

  it('registers no fixture without MCP_CONFORMANCE_FIXTURES=1', async () => {
    const plain = await connectStdio();
    try {
      const { tools } = await plain.client.listTools();
      expect(tools.length).toBeGreaterThan(0);
      expect(tools.map((t) => t.name).filter((name) => name.startsWith('test_') || name === 'json_schema_2020_12_tool')).toEqual([]);
      const { resources } = await plain.client.listResources();
      expect(resources.map((r) => r.uri).filter((uri) => uri.startsWith('test://'))).toEqual([]);
      const { resourceTemplates } = await plain.client.listResourceTemplates();
      expect(resourceTemplates.map((t) => t.uriTemplate).filter((uri) => uri.startsWith('test://'))).toEqual([]);
      const prompts = plain.client.getServerCapabilities()?.prompts ? (await plain.client.listPrompts()).prompts : [];
      expect(prompts.map((p) => p.name).filter((name) => name.startsWith('test_'))).toEqual([]);
      expect(plain.stderr()).not.toContain('MCP_CONFORMANCE_FIXTURES=1');
    } finally {
      await plain.close();
    }
  });
});
