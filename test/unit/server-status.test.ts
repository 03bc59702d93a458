/**
 * get_server_status tells only the truth about capability, checked in-process through the
 * real composition root and server factory (in-memory MCP transport, embedded sandbox).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/cli/start-app.js';
import { connectInMemory } from '../helpers/in-process.js';
import { reportToolsets } from '../../src/services/server-status.js';

const ALL_TOOLSETS = ['messaging', 'inbox', 'voice', 'verify', 'lookup', 'numbers', 'conversations', 'video', 'insights', 'campaigns', 'server'];

let open: Array<{ app: App; client: Client }> = [];
afterEach(async () => {
  for (const { app, client } of open) {
    await client.close();
    await app.close();
  }
  open = [];
});

async function statusOf(options: { toolsets?: string; readOnly?: boolean }): Promise<Record<string, any>> {
  const app = await startApp({
    forceSandbox: true,
    readOnly: options.readOnly ?? false,
    toolsets: options.toolsets,
    webhookPort: undefined,
    env: { TWILIO_MCP_DATA_DIR: mkdtempSync(join(tmpdir(), 'mcp-twilio-status-')) },
  });
  const client = await connectInMemory(app, { name: 'status-test' });
  open.push({ app, client });
  const result = await client.callTool({ name: 'get_server_status', arguments: {} });
  expect(result.isError).toBeFalsy();
  // The text copy is the same JSON as structuredContent (many clients show only the text).
  const text = (result.content as Array<{ type: string; text: string }>)[0]!.text;
  expect(JSON.parse(text)).toEqual(result.structuredContent);
  return result.structuredContent as Record<string, any>;
}

describe('get_server_status: toolsets', () => {
  it('with --toolsets all, every toolset of this version lists tools; nothing is "not available"', async () => {
    const status = await statusOf({ toolsets: 'all' });
    expect(status.toolsets).toEqual(ALL_TOOLSETS);
    // Omitted when empty: every toolset name this version accepts has tools.
    expect(status.not_available_in_this_version).toBeUndefined();
    expect(status.toolsets_not_enabled).toBeUndefined();
  });

  it('asked for campaigns only: campaigns and server are enabled; every other toolset says how to enable it', async () => {
    const status = await statusOf({ toolsets: 'campaigns' });
    expect(status.toolsets).toEqual(['campaigns', 'server']);
    expect(status.enabled_tools).toEqual(expect.arrayContaining(['start_campaign', 'get_server_status']));
    expect(status.toolsets_not_enabled).toEqual(
      ALL_TOOLSETS.filter((t) => t !== 'campaigns' && t !== 'server').map((name) => ({ name, reason: expect.stringMatching(new RegExp(`not in --toolsets .*add "${name}"`)) })),
    );
  });

  it('the default set: every enabled toolset lists at least one of the enabled tools', async () => {
    const status = await statusOf({});
    expect(status.toolsets).toEqual(['messaging', 'inbox', 'server']);
    expect(status.enabled_tools).toEqual(expect.arrayContaining(['send_sms', 'list_inbound_messages', 'get_server_status']));
    expect(status.not_available_in_this_version).toBeUndefined();
  });

  it('read-only: messaging stays enabled through its read tools; send tools are hidden with the reason', async () => {
    const status = await statusOf({ toolsets: 'all', readOnly: true });
    expect(status.toolsets).toEqual(ALL_TOOLSETS);
    expect(status.enabled_tools).toEqual(expect.arrayContaining(['get_call', 'list_recordings']));
    expect(status.hidden_tools).toContainEqual({ name: 'make_call', reason: expect.stringMatching(/read-only/) });
    expect(status.enabled_tools).not.toContain('send_sms');
    expect(status.hidden_tools).toContainEqual({ name: 'send_sms', reason: expect.stringMatching(/read-only/) });
  });
});

describe('reportToolsets (pure)', () => {
  it('a requested toolset whose every tool is hidden is not enabled, and gives the hiding reasons', () => {
    const report = reportToolsets({
      toolsets: ['messaging', 'server'],
      enabledTools: ['get_server_status'],
      hiddenTools: [
        { name: 'send_sms', reason: 'read-only mode: this tool sends or changes something' },
        { name: 'send_whatsapp', reason: 'read-only mode: this tool sends or changes something' },
      ],
      catalog: [
        { name: 'send_sms', toolset: 'messaging' },
        { name: 'send_whatsapp', toolset: 'messaging' },
        { name: 'get_server_status', toolset: 'server' },
      ],
    });
    expect(report.toolsets).toEqual(['server']);
    expect(report.toolsets_not_enabled).toEqual([{ name: 'messaging', reason: 'every tool is hidden: read-only mode: this tool sends or changes something' }]);
    expect(report.not_available_in_this_version.map((t) => t.name)).toContain('inbox');
  });

  it('follows the catalog: a build with a voice tool reports voice as enabled', () => {
    const report = reportToolsets({
      toolsets: ['voice', 'server'],
      enabledTools: ['make_call', 'get_server_status'],
      hiddenTools: [],
      catalog: [
        { name: 'make_call', toolset: 'voice' },
        { name: 'get_server_status', toolset: 'server' },
      ],
    });
    expect(report.toolsets).toEqual(['voice', 'server']);
    expect(report.not_available_in_this_version.map((t) => t.name)).not.toContain('voice');
  });
});
