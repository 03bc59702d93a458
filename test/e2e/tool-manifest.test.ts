/**
 * The build-time tool manifest (src/tools/catalog.ts) changes nothing a client sees: the
 * server built without it (every schema converted at start) lists exactly the same tools,
 * and a manifest older than the compiled code is ignored rather than served stale.
 */
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, describe, expect, it } from 'vitest';
import { serverEnv } from '../helpers/server-process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Inside the project, so the copies resolve the same node_modules.
const SCRATCH = join(ROOT, '.test-tmp');
mkdirSync(SCRATCH, { recursive: true });
const copies: string[] = [];
afterAll(() => {
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
});

function copyOfDist(change: (dist: string) => void): string {
  const dir = mkdtempSync(join(SCRATCH, 'dist-'));
  copies.push(dir);
  cpSync(join(ROOT, 'dist'), dir, { recursive: true });
  change(dir);
  return join(dir, 'cli', 'main.js');
}

async function listTools(entry: string) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [entry, '--toolsets', 'all'],
    env: serverEnv({ TWILIO_MCP_LOG_LEVEL: 'debug' }),
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'manifest-test', version: '1.0.0' });
  await client.connect(transport);
  try {
    const { tools } = await client.listTools();
    return { tools, stderr };
  } finally {
    await client.close();
  }
}

describe('tool manifest', () => {
  it('without the manifest, the server lists exactly the same tools (converted at start)', async () => {
    const built = await listTools(join(ROOT, 'dist', 'cli', 'main.js'));
    const eager = await listTools(copyOfDist((dist) => rmSync(join(dist, 'tools', 'tool-manifest.json'))));
    expect(built.tools.length).toBeGreaterThan(30);
    expect(eager.tools).toEqual(built.tools);
    expect(built.stderr).not.toMatch(/tool-manifest\.json is older/);
  });

  it('a manifest older than the compiled code is ignored, and the log says so', async () => {
    const built = await listTools(join(ROOT, 'dist', 'cli', 'main.js'));
    const stale = await listTools(copyOfDist((dist) => appendFileSync(join(dist, 'tools', 'voice.js'), '\n// changed after the manifest was written\n')));
    expect(stale.stderr).toMatch(/tool-manifest\.json is older than the compiled code/);
    expect(stale.tools).toEqual(built.tools);
  });
});
