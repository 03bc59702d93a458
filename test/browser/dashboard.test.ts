/**
 * The dashboard in Debian's Chromium, against the built server (`--http --port 0`, the
 * embedded sandbox), driven through the real MCP client: the page refuses without the
 * one-time link and loads with it; after sends, failures, refusals, a reply, a STOP, calls
 * and a campaign, every panel shows the numbers the tools give (read from the DOM); a new
 * reply appears without a reload; Pause on the page pauses the campaign (audited as the
 * dashboard); an inbound `<script>` is shown as text. A screenshot of each panel is written
 * to test-artifacts/dashboard/ (git-ignored).
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Client } from '@modelcontextprotocol/client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, launchChromium } from '../helpers/chromium.js';
import { callTool, connectHttp, pollUntil, startHttpServer, type HttpServerProcess } from '../helpers/server-process.js';
import { SUPPORT_FLOW as FLOW } from '../helpers/ivr-flows.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/dashboard/', import.meta.url));
const PANELS = ['delivery', 'failures', 'campaigns', 'inbox', 'calls', 'guardrails'] as const;
const HOSTILE = 'Thanks! <script>window.__pwned = true</script><img src="x" onerror="window.__pwned = true">';


const skip = chromiumMissing();

describe.skipIf(skip !== undefined)('the dashboard in a browser', () => {
  let server: HttpServerProcess;
  let client: Client;
  let browser: Browser;
  let base: string;
  let link: string;
  const problems: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await startHttpServer({
      args: ['--toolsets', 'all'],
      env: { TWILIO_MCP_DENY_NUMBERS: '+14155550199', TWILIO_MCP_ALLOWED_COUNTRIES: 'US,CA' },
    });
    base = server.url.replace(/\/mcp$/, '');
    link = await pollUntil(async () => /Dashboard: (http:\/\/\S+\/dashboard#token=[A-Za-z0-9_-]+)/.exec(server.stderr())?.[1]);
    client = await connectHttp(server.url);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await client?.close();
    await server?.stop();
  });

  async function openPage(context: BrowserContext, url: string): Promise<Page> {
    const page = await context.newPage();
    // A missing element fails in seconds, with its locator named, not at the test's timeout.
    page.setDefaultTimeout(10_000);
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 401/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(url);
    return page;
  }

  const metric = async (page: Page, panel: string, name: string) => {
    const raw = await page.locator(`[data-panel="${panel}"] [data-metric="${name}"]`).first().getAttribute('data-value', { timeout: 1000 }).catch(() => null);
    return raw === null || raw === '' ? null : Number(raw);
  };
  /** Waits (bounded) until the page shows `expected` for each metric of a panel; returns what it last read. */
  async function shows(page: Page, panel: string, expected: Record<string, number | null>) {
    let seen: Record<string, number | null> = {};
    try {
      await pollUntil(async () => {
        seen = Object.fromEntries(await Promise.all(Object.keys(expected).map(async (k) => [k, await metric(page, panel, k)] as const)));
        return JSON.stringify(seen) === JSON.stringify(expected) ? true : undefined;
      }, 15_000);
    } catch {
      // Fall through to the assertion, which shows the difference.
    }
    expect(seen, `${panel} panel`).toEqual(expected);
  }
  const tool = async (name: string, args: Record<string, unknown> = {}) => {
    const result = await callTool(client, name, args);
    return result;
  };

  it('refuses without the one-time link: the sign-in form, no data, and the API says 401', async () => {
    const context = await browser.newContext();
    try {
      const page = await openPage(context, `${base}/dashboard`);
      await page.locator('#signin').waitFor({ state: 'visible' });
      expect(await page.locator('#panels').isHidden()).toBe(true);
      expect(await page.locator('[data-metric]').count()).toBe(0);
      expect(await page.locator('#live-status').getAttribute('data-state')).toBe('signed-out');
      expect(await page.evaluate(() => fetch('/dashboard/api/panels').then((r) => r.status))).toBe(401);
      // A made-up token is refused the same way.
      const guessed = await openPage(context, `${base}/dashboard#token=not-the-token`);
      await guessed.locator('#signin-reason').filter({ hasText: /used already, or the token is wrong/ }).waitFor({ timeout: 10_000 });
      expect(await guessed.locator('#panels').isHidden()).toBe(true);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('with the link, every panel shows what the tools say, live; pause works; inbound text stays text', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await openPage(context, link);
    await page.locator('#live-status[data-state="live"]').waitFor({ timeout: 15_000 });
    // The link is spent and gone from the address bar.
    expect(page.url()).toBe(`${base}/dashboard`);
    await shows(page, 'delivery', { sent: 0 });
    await page.evaluate(() => ((window as unknown as { __noReload: string }).__noReload = 'still here'));

    // Sends: delivered ones, an undelivered and a failed one, in two countries.
    for (const to of ['+14155550101', '+14155550102', '+14155550103', '+14155553003', '+14155553008', '+16135550123', '+16135553008']) {
      const sent = await tool('send_sms', { to, body: `Hello ${to}` });
      expect(sent.isError, JSON.stringify(sent.json)).toBe(false);
    }
    // Refusals: a denied number, a country outside the policy, Twilio's own (a magic number).
    expect((await tool('send_sms', { to: '+14155550199', body: 'denied' })).json.rule).toBe('deny_numbers');
    expect((await tool('send_sms', { to: '+447700900123', body: 'abroad' })).json.rule).toBe('allowed_countries');
    expect((await tool('send_sms', { to: '+15005550004', body: 'unsubscribed' })).json.twilio_code).toBe(21610);
    // A reply that tries to be HTML, and a STOP (after which sending is refused).
    expect((await tool('simulate_inbound_message', { from: '+14155550101', body: HOSTILE })).isError).toBe(false);
    expect((await tool('simulate_inbound_message', { from: '+14155550102', body: 'STOP' })).isError).toBe(false);
    expect((await tool('send_sms', { to: '+14155550102', body: 'after stop' })).json.rule).toBe('opt_out');

    // Calls: one answered, one busy, three callers through an IVR flow, one live conversation.
    const answered = await tool('make_call', { to: '+14155550150', say: 'Your table is ready.' });
    expect(answered.isError, JSON.stringify(answered.json)).toBe(false);
    expect((await tool('make_call', { to: '+14155554001', say: 'Nobody home?' })).isError).toBe(false);
    expect((await tool('create_ivr_flow', FLOW)).isError).toBe(false);
    expect((await tool('set_inbound_call_flow', { flow: 'support' })).isError).toBe(false);
    const ivrCalls: string[] = [];
    for (const [from, digits] of [['+14155550161', '1'], ['+14155550162', '1'], ['+14155550163', '2']] as const) {
      const rang = await tool('simulate_inbound_call', { from, inputs: [{ digits }] });
      expect(rang.isError, JSON.stringify(rang.json)).toBe(false);
      ivrCalls.push(rang.json.call_sid);
    }
    await tool('script_caller', { to: '+14155550170', turns: [{ say: 'Is my order <b>ready</b>?' }, { hangup: true }] });
    const talk = await tool('start_voice_conversation', { to: '+14155550170', greeting: 'Hello, this is the shop.', purpose: 'order status' });
    expect(talk.isError, JSON.stringify(talk.json)).toBe(false);
    expect((await tool('wait_for_caller', { call_sid: talk.json.call_sid, timeout_seconds: 20 })).json.turn).toMatchObject({ kind: 'said' });
    await tool('say_on_call', { call_sid: talk.json.call_sid, text: 'Yes, it ships today.' });
    expect((await tool('wait_for_caller', { call_sid: talk.json.call_sid, timeout_seconds: 20 })).json.turn).toMatchObject({ kind: 'ended' });
    for (const sid of [answered.json.call_sid, ...ivrCalls, talk.json.call_sid]) {
      await pollUntil(async () => ((await tool('get_call', { sid })).json.status === 'completed' ? true : undefined), 20_000);
    }

    // A slow campaign, paused from the page while it runs.
    const campaign = await tool('start_campaign', {
      name: 'spring offer',
      template: 'Hi {{name}}, spring is here.',
      rate_per_second: 0.2,
      recipients: ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara'].map((name, i) => ({ to: `+1415555200${i + 1}`, variables: { name } })),
    });
    expect(campaign.isError, JSON.stringify(campaign.json)).toBe(false);
    const id = campaign.json.campaign_id as string;
    const card = page.locator(`[data-campaign-id="${id}"]`);
    await card.locator('[data-action="pause"]').click({ timeout: 15_000 });
    // Paused: rows the workers held for their pacing slots go back to pending, and nothing more is sent.
    const paused = await pollUntil(async () => {
      const got = await tool('get_campaign', { campaign_id: id });
      return got.json.state === 'paused' && !got.json.counts.sending ? got.json : undefined;
    });
    await page.locator(`[data-campaign-id="${id}"][data-state="paused"]`).waitFor({ timeout: 15_000 });
    const audit = await tool('get_audit_log', { tool: 'control_campaign', limit: 5 });
    expect(audit.json.entries).toEqual([expect.objectContaining({ arguments: { campaign_id: id, action: 'pause' }, client: 'dashboard', error: null })]);

    // Everything settles (no message left in flight), then each panel is read against the tools.
    const insights = await pollUntil(async () => {
      const got = (await tool('get_messaging_insights', { period: 'today' })).json;
      return got.pending === 0 && got.sent >= 8 ? got : undefined;
    }, 20_000);
    expect(insights.failed).toBe(2);
    expect(insights.undelivered).toBe(1);
    await shows(page, 'delivery', {
      sent: insights.sent,
      delivered: insights.delivered,
      undelivered: insights.undelivered,
      failed: insights.failed,
      pending: 0,
      delivery_rate: insights.delivery_rate,
      median_seconds_to_delivered: insights.median_seconds_to_delivered,
    });
    await shows(page, 'failures', { failed_total: insights.failed + insights.undelivered });
    for (const e of insights.top_errors as Array<{ error_code: number; count: number; meaning: string }>) {
      const row = page.locator('[data-panel="failures"] [data-table="errors"] tr', { has: page.locator(`[data-error-code="${e.error_code}"]`) });
      expect(await row.locator(`[data-error-count="${e.error_code}"]`).textContent()).toBe(String(e.count));
      expect(await row.textContent()).toContain(e.meaning);
    }
    for (const [table, breakdown] of [['by_country', insights.by_country], ['by_sender', insights.by_sender]] as const) {
      for (const [key, v] of Object.entries(breakdown as Record<string, { sent: number; failed: number }>)) {
        const row = page.locator(`[data-panel="failures"] [data-table="${table}"] tr`, { has: page.locator(`[data-key="${key}"]`) });
        expect(await row.locator('[data-failed]').getAttribute('data-failed'), `${table} ${key}`).toBe(String(v.failed));
      }
    }
    expect(Object.keys(insights.by_country).sort()).toEqual(['CA', 'US']);

    await shows(page, 'inbox', { replies_received: insights.replies_received, opt_outs_gained: insights.opt_outs_gained });
    expect(insights.opt_outs_gained).toBeGreaterThanOrEqual(1);

    const counts = Object.fromEntries(Object.entries(paused.counts as Record<string, number>).map(([k, v]) => [`count.${k}`, v]));
    await shows(page, 'campaigns', counts);

    const policy = (await tool('get_policy')).json;
    await shows(page, 'guardrails', { failed_calls: 4 });
    for (const [rule, n] of [['deny_numbers', 1], ['allowed_countries', 1], ['opt_out', 1]] as const) {
      expect(await page.locator(`[data-panel="guardrails"] [data-rule="${rule}"]`).getAttribute('data-value'), rule).toBe(String(n));
    }
    const used = policy.caps.used as { messages_today: number; estimated_spend_today_usd: number };
    expect(Number(await page.locator('[data-panel="guardrails"] [data-cap="messages_today"] [data-field="used"]').getAttribute('data-value'))).toBe(used.messages_today);
    expect(Number(await page.locator('[data-panel="guardrails"] [data-cap="messages_today"] [data-field="limit"]').getAttribute('data-value'))).toBe(policy.caps.messages_per_day);
    expect(Number(await page.locator('[data-panel="guardrails"] [data-cap="spend_today_usd"] [data-field="used"]').getAttribute('data-value'))).toBeCloseTo(used.estimated_spend_today_usd, 4);

    const calls = (await tool('list_calls', { limit: 50 })).json.calls as Array<{ status: string }>;
    const outcomes: Record<string, number> = {};
    for (const c of calls) outcomes[`outcome.${c.status}`] = (outcomes[`outcome.${c.status}`] ?? 0) + 1;
    await shows(page, 'calls', { calls_total: calls.length, ...outcomes });
    expect(outcomes['outcome.busy']).toBe(1);
    const billing = page.locator('[data-panel="calls"] [data-flow="support"] [data-edge="menu->billing"]');
    expect(Number(await billing.getAttribute('data-share'))).toBeCloseTo(2 / 3, 3);
    expect(await page.locator('[data-panel="calls"] [data-flow="support"] [data-edge="menu->end:transferred"]').getAttribute('data-calls')).toBe('1');
    expect(await page.locator('[data-panel="calls"] [data-flow="support"] svg g[data-node="billing"]').count()).toBe(1);
    const transcript = page.locator(`[data-panel="calls"] .transcript[data-call="${talk.json.call_sid}"]`);
    expect(await transcript.textContent()).toContain('Is my order <b>ready</b>?');
    expect(await transcript.locator('b').count()).toBe(0);

    // Inbound text is text: the characters are there, no element was made of them, nothing ran.
    const hostile = page.locator('[data-panel="inbox"] [data-field="body"]', { hasText: '<script>' });
    expect(await hostile.textContent()).toBe(HOSTILE);
    expect(await page.locator('[data-panel="inbox"] script, [data-panel="inbox"] img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: boolean }).__pwned)).toBeUndefined();

    // A new reply arrives while the page is open: it appears, and the page was never reloaded.
    await tool('simulate_inbound_message', { from: '+14155550103', body: 'A second reply, live.' });
    await page.locator('[data-panel="inbox"] [data-field="body"]', { hasText: 'A second reply, live.' }).waitFor({ timeout: 15_000 });
    expect(await page.evaluate(() => (window as unknown as { __noReload?: string }).__noReload)).toBe('still here');
    await shows(page, 'inbox', { replies_received: insights.replies_received + 1, opt_outs_gained: insights.opt_outs_gained });

    for (const name of PANELS) await page.locator(`#panel-${name}`).screenshot({ path: `${ARTIFACTS}${name}.png` });
    await page.screenshot({ path: `${ARTIFACTS}page.png`, fullPage: true });

    // Seconds later (longer than its pacing interval), the paused campaign has sent nothing more.
    expect((await tool('get_campaign', { campaign_id: id })).json.counts).toEqual(paused.counts);
    // The campaign must not go on sending after the test.
    await tool('control_campaign', { campaign_id: id, action: 'cancel' });
    expect(problems, problems.join('\n')).toEqual([]);
    await context.close();
  }, 180_000);
});
