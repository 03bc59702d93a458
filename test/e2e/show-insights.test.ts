/**
 * show_insights through the server binary over stdio: its tools/list entry links the MCP
 * Apps view, the view is served with the MCP Apps MIME type, and the result carries the
 * same delivery figures as get_messaging_insights plus the campaigns' progress, as
 * structured content matching the declared outputSchema and as the same JSON in text.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callTool, connectStdio, pollUntil, serverEnv, type Connected } from '../helpers/server-process.js';

const VIEW_URI = 'ui://mcp-server-twilio/insights.html';
const MCP_APP_MIME = 'text/html;profile=mcp-app';

let server: Connected;
beforeAll(async () => {
  server = await connectStdio({ args: ['--toolsets', 'all'] });
});
afterAll(async () => {
  await server?.close();
});

describe('show_insights in tools/list', () => {
  it('is a free read whose _meta links the ui:// view (and the legacy key older hosts read)', async () => {
    const { tools } = await server.client.listTools();
    const tool = tools.find((t) => t.name === 'show_insights');
    expect(tool).toBeDefined();
    expect(tool!._meta).toEqual({ ui: { resourceUri: VIEW_URI }, 'ui/resourceUri': VIEW_URI });
    expect(tool!.annotations?.readOnlyHint).toBe(true);
    expect(tool!.description).toMatch(/SEE/);
    expect(tool!.description).toMatch(/Free\./);
    // Only the tool with a view carries one.
    expect(tools.filter((t) => t._meta !== undefined).map((t) => t.name)).toEqual(['show_insights']);
  });

  it('is not in the default toolsets, and without it no view is served', async () => {
    const plain = await connectStdio();
    try {
      const { tools } = await plain.client.listTools();
      expect(tools.map((t) => t.name)).not.toContain('show_insights');
      const { resources } = await plain.client.listResources();
      expect(resources.map((r) => r.uri)).not.toContain(VIEW_URI);
    } finally {
      await plain.close();
    }
  });
});

describe('the ui:// resource', () => {
  it('is listed and read as one self-contained HTML page with the MCP Apps MIME type', async () => {
    const { resources } = await server.client.listResources();
    expect(resources.find((r) => r.uri === VIEW_URI)).toMatchObject({ mimeType: MCP_APP_MIME });
    const read = await server.client.readResource({ uri: VIEW_URI });
    expect(read.contents).toHaveLength(1);
    const [content] = read.contents as Array<{ uri: string; mimeType?: string; text?: string }>;
    expect(content).toMatchObject({ uri: VIEW_URI, mimeType: MCP_APP_MIME });
    const html = content!.text ?? '';
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain('ui/initialize'); // the ext-apps App client is inside
    // Nothing loaded from elsewhere: every script and style is inline.
    expect(html).not.toMatch(/<script[^>]*\ssrc=/i);
    expect(html).not.toMatch(/<link[^>]*rel=["']?stylesheet/i);
    expect(html).toMatch(/default-src 'none'/);
  });

  it('is read on first use, not at start-up: without the built view the server starts and the read says how to fix it, then serves a build made later', async () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    mkdirSync(join(root, '.test-tmp'), { recursive: true });
    const copy = mkdtempSync(join(root, '.test-tmp', 'dist-'));
    try {
      cpSync(join(root, 'dist'), join(copy, 'dist'), { recursive: true, filter: (source) => !source.includes(`${join(root, 'dist', 'apps')}`) });
      const client = new Client({ name: 'no-view', version: '1.0.0' });
      await client.connect(new StdioClientTransport({ command: process.execPath, args: [join(copy, 'dist', 'cli', 'main.js'), '--toolsets', 'all'], env: serverEnv(), stderr: 'pipe' }));
      try {
        expect((await client.listTools()).tools.map((t) => t.name)).toContain('show_insights');
        expect((await callTool(client, 'show_insights', {})).isError).toBe(false);
        await expect(client.readResource({ uri: VIEW_URI })).rejects.toThrow(/not built .*npm run build/);
        cpSync(join(root, 'dist', 'apps'), join(copy, 'dist', 'apps'), { recursive: true });
        const read = await client.readResource({ uri: VIEW_URI });
        expect((read.contents[0] as { text?: string }).text).toMatch(/^<!doctype html>/i);
      } finally {
        await client.close();
      }
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});

describe('show_insights results', () => {
  const to = { delivered: ['+14155550701', '+14155550702'], undelivered: ['+14155553003', '+14155553005'], failed: '+14155553008' };
  let campaignId = '';

  beforeAll(async () => {
    for (const number of [...to.delivered, ...to.undelivered, to.failed]) {
      const sent = await callTool(server.client, 'send_sms', { to: number, body: 'Your table is ready.' });
      expect(sent.isError, JSON.stringify(sent.json)).toBe(false);
    }
    const started = await callTool(server.client, 'start_campaign', {
      name: 'Reminders',
      template: 'Hi {{name}}',
      recipients: [
        { to: '+14155550711', variables: { name: 'Ada' } },
        { to: '+14155550712', variables: { name: 'Grace' } },
        { to: 'not a number', variables: { name: 'Nobody' } },
      ],
      rate_per_second: 0,
    });
    expect(started.isError, JSON.stringify(started.json)).toBe(false);
    campaignId = started.json.campaign_id;
    // Every receipt in: no status can change between the two calls compared below.
    await pollUntil(async () => {
      const campaign = await callTool(server.client, 'get_campaign', { campaign_id: campaignId });
      const insights = await callTool(server.client, 'get_messaging_insights', {});
      return campaign.json.state === 'completed' && insights.json.pending === 0 && insights.json.sent === 7 ? true : undefined;
    }, 20_000);
  });

  it('matches the outputSchema and gives the same delivery figures as get_messaging_insights', async () => {
    const { tools } = await server.client.listTools();
    const validate = new Ajv2020({ strict: false }).compile(tools.find((t) => t.name === 'show_insights')!.outputSchema!);
    const shown = await callTool(server.client, 'show_insights', { period: 'today' });
    expect(shown.isError, JSON.stringify(shown.json)).toBe(false);
    expect(validate(shown.structured), JSON.stringify(validate.errors)).toBe(true);
    expect(shown.json).toEqual(shown.structured); // the same figures as text

    const insights = (await callTool(server.client, 'get_messaging_insights', { period: 'today' })).json;
    const { window, delivery } = shown.structured!;
    expect(window).toEqual(insights.window);
    for (const key of ['sent', 'delivered', 'failed', 'undelivered', 'pending', 'delivery_rate', 'median_seconds_to_delivered', 'estimated_cost_usd', 'replies_received', 'opt_outs_gained', 'top_errors', 'by_country']) {
      expect(delivery[key], key).toEqual(insights[key]);
    }
    // And the numbers themselves: 5 direct sends (2 delivered, 2 undelivered, 1 failed) and 2 campaign sends.
    expect(delivery).toMatchObject({ sent: 7, delivered: 4, undelivered: 2, failed: 1, pending: 0, delivery_rate: 0.571 });
    expect(delivery.top_errors.map((e: { error_code: number; count: number }) => [e.error_code, e.count]).sort()).toEqual([
      [30003, 1],
      [30005, 1],
      [30008, 1],
    ]);
    expect(delivery.by_country).toEqual({ US: { sent: 7, delivered: 4, failed: 3 } });
  });

  it("shows the period's campaigns with their progress, as get_campaign reports it", async () => {
    const shown = (await callTool(server.client, 'show_insights', {})).structured!;
    const campaign = (await callTool(server.client, 'get_campaign', { campaign_id: campaignId })).json;
    expect(shown.campaigns).toEqual([
      {
        campaign_id: campaignId,
        name: 'Reminders',
        state: 'completed',
        channel: 'sms',
        recipients: 3,
        done: 3,
        counts: campaign.counts,
        delivery: campaign.delivery,
        updated_at: campaign.updated_at,
      },
    ]);
    expect(campaign.counts).toEqual({ sent: 2, invalid: 1 });
    expect(campaign.delivery).toEqual({ delivered: 2 });
  });

  it('keeps campaigns that did not change in the window out, and shows one by id whatever the window', async () => {
    expect((await callTool(server.client, 'show_insights', { period: 'yesterday' })).structured!.campaigns).toEqual([]);
    const one = await callTool(server.client, 'show_insights', { period: 'yesterday', campaign_id: campaignId });
    expect(one.structured!.campaigns.map((c: { campaign_id: string }) => c.campaign_id)).toEqual([campaignId]);
    expect(one.structured!.delivery.sent).toBe(0);
  });

  it('answers an unknown campaign with a failure that says what to do', async () => {
    const unknown = await callTool(server.client, 'show_insights', { campaign_id: `CP${'0'.repeat(32)}` });
    expect(unknown.isError).toBe(true);
    expect(unknown.json.error).toMatch(/no campaign/);
    expect(unknown.json.next_step).toMatch(/list_campaigns/);
  });
});
