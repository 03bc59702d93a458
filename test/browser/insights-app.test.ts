/**
 * The show_insights view in Chromium, inside a minimal MCP Apps host page: the HTML the
 * built server serves at its ui:// URI, given the tool result the same server returned
 * after real sandbox sends. The view must draw those figures, render outside text (campaign
 * names, error messages) as text, fetch nothing, and run the tool again when asked.
 * Screenshots go to test-artifacts/insights-app/ (git-ignored).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, launchChromium } from '../helpers/chromium.js';
import { startMcpAppsHost, type McpAppsHost } from '../helpers/mcp-apps-host.js';
import { callTool, connectStdio, pollUntil, type Connected } from '../helpers/server-process.js';

const VIEW_URI = 'ui://mcp-server-twilio/insights.html';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/insights-app/', import.meta.url));
const HOSTILE = `<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"><b>bold</b>`;

type ToolResult = { content: Array<{ type: string; text?: string }>; structuredContent?: Record<string, any>; isError?: boolean };

const skip = chromiumMissing();

describe.skipIf(skip !== undefined)('insights view in a host page', () => {
  let server: Connected;
  let browser: Browser;
  let host: McpAppsHost;
  let result: ToolResult;
  let page: Page;
  /** Everything the page asked the network for, and everything it complained about. */
  const requested: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await connectStdio({ args: ['--toolsets', 'all'] });
    for (const to of ['+14155550801', '+14155550802', '+14155553003', '+14155553005', '+14155553008']) {
      expect((await callTool(server.client, 'send_sms', { to, body: 'Your order shipped.' })).isError).toBe(false);
    }
    const started = await callTool(server.client, 'start_campaign', {
      name: 'Spring sale',
      template: 'Hi {{name}}, 20% off today',
      recipients: [
        { to: '+14155550811', variables: { name: 'Ada' } },
        { to: '+14155550812', variables: { name: 'Grace' } },
      ],
      rate_per_second: 0,
    });
    expect(started.isError, JSON.stringify(started.json)).toBe(false);
    await pollUntil(async () => {
      const insights = await callTool(server.client, 'get_messaging_insights', {});
      return insights.json.sent === 7 && insights.json.pending === 0 ? true : undefined;
    }, 20_000);
    result = (await server.client.callTool({ name: 'show_insights', arguments: { period: 'today' } })) as ToolResult;
    expect(result.isError).not.toBe(true);

    const read = await server.client.readResource({ uri: VIEW_URI });
    const view = read.contents[0] as { mimeType?: string; text?: string };
    expect(view.mimeType).toBe('text/html;profile=mcp-app');
    host = await startMcpAppsHost(view.text!);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 820, height: 1000 } });
    page.on('request', (request) => requested.push(request.url()));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    // The host proxies the view's tools/call to the real server, as Claude or VS Code does.
    await page.exposeFunction('callServerTool', (params: { name: string; arguments?: Record<string, unknown> }) => server.client.callTool(params));
  });

  afterAll(async () => {
    await browser?.close();
    await host?.close();
    await server?.close();
  });

  /** A fresh host page with the view initialized (it answered ui/initialize's result with ui/notifications/initialized). */
  async function openView(hostCapabilities?: Record<string, unknown>): Promise<Frame> {
    await page.goto(hostCapabilities ? `${host.url}?capabilities=${encodeURIComponent(JSON.stringify(hostCapabilities))}` : host.url);
    await page.waitForFunction(() => (window as any).initialized !== undefined);
    await page.evaluate(() => (window as any).initialized);
    const frame = await (await page.$('#view'))!.contentFrame();
    return frame!;
  }

  const deliver = (args: Record<string, unknown>, toolResult: ToolResult) => page.evaluate(([a, r]) => (window as any).deliver(a, r), [args, toolResult] as const);
  const text = (frame: Frame, testid: string) => frame.locator(`[data-testid="${testid}"]`).first().innerText();
  const value = (frame: Frame, testid: string) => frame.locator(`[data-testid="${testid}"] .value`).innerText();

  it('draws the figures of the real tool result', async () => {
    const frame = await openView();
    await deliver({ period: 'today' }, result);
    await frame.locator('[data-testid="delivery"]').waitFor();
    const d = result.structuredContent!.delivery;
    expect(d).toMatchObject({ sent: 7, delivered: 4, undelivered: 2, failed: 1 });
    expect(await value(frame, 'sent')).toBe('7');
    expect(await value(frame, 'delivered')).toBe('4');
    expect(await value(frame, 'failed')).toBe('3'); // failed + undelivered
    expect(await value(frame, 'pending')).toBe('0');
    expect(await value(frame, 'delivery-rate')).toBe('57.1%');
    expect(await value(frame, 'cost')).toBe(`$${d.estimated_cost_usd}`);
    expect(await text(frame, 'window')).toBe('today (UTC)');
    expect((await frame.locator('[data-testid="top-errors"] li strong').allInnerTexts()).sort()).toEqual(['30003', '30005', '30008']);
    expect(await text(frame, 'top-errors')).toMatch(/30003 × 1 — Unreachable destination handset/);
    expect(await frame.locator('[data-testid="by-country"] tbody tr').allInnerTexts()).toEqual(['US\t7\t4\t3']);
    // The bar's parts in proportion: delivered 4, undelivered 2, failed 1 of 7.
    const widths = await frame.locator('[data-testid="delivery-bar"] .segment').evaluateAll((parts) => parts.map((p) => Math.round((p.getBoundingClientRect().width / p.parentElement!.getBoundingClientRect().width) * 7)));
    expect(widths).toEqual([4, 2, 1]);

    const campaign = frame.locator('[data-testid="campaign"]');
    expect(await campaign.count()).toBe(1);
    expect(await text(frame, 'campaign-name')).toBe('Spring sale');
    expect(await text(frame, 'campaign-state')).toBe('completed');
    expect(await text(frame, 'campaign-done')).toBe('2 of 2 recipients done');
    expect(await frame.locator('[data-testid="campaign-progress"]').evaluate((p: HTMLProgressElement) => [p.value, p.max])).toEqual([2, 2]);
    expect(await text(frame, 'campaign-counts')).toMatch(/sent 2/);
    await page.screenshot({ path: join(ARTIFACTS, 'figures.png'), fullPage: true });
  });

  it('renders a hostile campaign name and error text as text, never as HTML', async () => {
    const frame = await openView();
    const structured = structuredClone(result.structuredContent!);
    structured.campaigns[0].name = HOSTILE;
    structured.campaigns[0].error = HOSTILE;
    structured.window.label = HOSTILE;
    await deliver({}, { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured });
    await frame.locator('[data-testid="campaign-name"]').waitFor();
    expect(await text(frame, 'campaign-name')).toBe(HOSTILE);
    expect(await text(frame, 'campaign-error')).toBe(HOSTILE);
    expect(await text(frame, 'window')).toBe(HOSTILE);
    await page.screenshot({ path: join(ARTIFACTS, 'hostile-campaign.png'), fullPage: true });

    const failure = { error: HOSTILE, next_step: `${HOSTILE} then retry` };
    await deliver({}, { isError: true, content: [{ type: 'text', text: JSON.stringify(failure) }] });
    await frame.locator('[data-testid="error"]').waitFor();
    expect(await text(frame, 'error')).toBe(HOSTILE);
    expect(await text(frame, 'next-step')).toBe(`${HOSTILE} then retry`);
    // Not one element was made from those strings, and nothing they carried ran.
    expect(await frame.locator('#app script, #app img, #app b').count()).toBe(0);
    expect(await frame.evaluate(() => (window as any).__pwned)).toBeUndefined();
    await page.screenshot({ path: join(ARTIFACTS, 'hostile-error.png'), fullPage: true });
  });

  it('says so when a result is not what show_insights returns', async () => {
    const frame = await openView();
    await deliver({}, { content: [{ type: 'text', text: '{}' }], structuredContent: { window: 'nope' } });
    await frame.locator('[data-testid="error"]').waitFor();
    expect(await text(frame, 'error')).toMatch(/could not be read/);
  });

  it('asks the host to run show_insights again for another period', async () => {
    const frame = await openView();
    await deliver({ period: 'today' }, result);
    await frame.locator('[data-testid="period-yesterday"]').click();
    await frame.locator('[data-testid="window"]', { hasText: 'yesterday (UTC)' }).waitFor();
    expect(await value(frame, 'sent')).toBe('0');
    expect(await frame.locator('[data-testid="campaign"]').count()).toBe(0);
    const calls = await page.evaluate(() => (window as any).received.filter((m: { method?: string }) => m.method === 'tools/call').map((m: { params: { name: string; arguments: unknown } }) => [m.params.name, m.params.arguments]));
    expect(calls).toEqual([['show_insights', { period: 'yesterday' }]]);
  });

  it('offers no period buttons when the host cannot run server tools', async () => {
    const frame = await openView({});
    await deliver({ period: 'today' }, result);
    await frame.locator('[data-testid="delivery"]').waitFor();
    expect(await frame.locator('[data-testid="periods"]').count()).toBe(0);
  });

  it('fetched nothing but the host page and the view, and logged no error', () => {
    const origins = new Set(requested.map((url) => new URL(url).origin));
    expect([...origins]).toEqual([new URL(host.url).origin]);
    expect(new Set(host.requests)).toEqual(new Set(['/', '/view.html']));
    expect(problems).toEqual([]);
  });
});
