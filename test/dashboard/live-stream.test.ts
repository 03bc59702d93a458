/**
 * The event stream over the real app: a reply that arrives as a webhook (no tool call at
 * all) and a campaign's progress each push their panels to an open stream.
 */
import { request as httpRequest, type ClientRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { quietWindowAround } from '../helpers/in-process.js';
import { startDashboard, type DashboardHarness } from './harness.js';

const LINK = 'one-time-link-token-for-tests-0123456789abcdef';
const opened: Array<{ h: DashboardHarness; req?: ClientRequest }> = [];
afterEach(async () => {
  for (const o of opened.splice(0)) {
    o.req?.destroy();
    await o.h.close();
  }
});

/** An open stream: every `panels` event so far, parsed. */
async function stream(h: DashboardHarness) {
  const session = (await h.request('/dashboard/api/session', { method: 'POST', headers: { authorization: `Bearer ${LINK}` } })).json().session_token;
  const { ticket } = (await h.request('/dashboard/api/stream-ticket', { method: 'POST', headers: { authorization: `Bearer ${session}` } })).json();
  const events: Array<Record<string, any>> = [];
  let text = '';
  const req = httpRequest({ host: '127.0.0.1', port: h.port, path: `/dashboard/api/events?ticket=${ticket}&period=today`, headers: { host: `127.0.0.1:${h.port}` } }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      text += chunk;
      let end: number;
      while ((end = text.indexOf('\n\n')) !== -1) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        const data = /^event: panels\ndata: (.*)$/s.exec(block)?.[1];
        if (data) events.push(JSON.parse(data));
      }
    });
  });
  req.on('error', () => {});
  req.end();
  opened.at(-1)!.req = req;
  const next = async <T>(what: string, pick: (e: Record<string, any>) => T | undefined): Promise<T> => {
    for (let i = 0; i < 300; i++) {
      for (const e of events.splice(0)) {
        const found = pick(e);
        if (found !== undefined) return found;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no panels event with ${what}`);
  };
  return { next };
}

describe('the dashboard event stream', () => {
  it('pushes the inbox when a reply arrives as a webhook, with no tool call involved', async () => {
    const h = await startDashboard({ linkTokens: [LINK], feed: { minIntervalMs: 50 } });
    opened.push({ h });
    const s = await stream(h);
    expect(await s.next('the first inbox', (e) => e.inbox)).toMatchObject({ replies_received: 0, messages: [] });
    const sandbox = await h.server.sandbox();
    const sent = await sandbox.simulateInbound({ from: '+14155550301', body: 'Pushed <b>live</b>' });
    expect(sent.webhookStatus).toBe(200);
    const inbox = await s.next('the reply', (e) => (e.inbox?.messages?.length ? e.inbox : undefined));
    expect(inbox).toMatchObject({ replies_received: 1, messages: [{ from: '+14155550301', body: 'Pushed <b>live</b>', trust: 'untrusted-third-party' }] });
  });

  it('pushes the campaigns panel when a campaign moves, with no tool call and no message involved', async () => {
    // Quiet hours hold every recipient: nothing is sent, so no status callback refreshes anything.
    const h = await startDashboard({ linkTokens: [LINK], feed: { minIntervalMs: 50 }, env: { TWILIO_MCP_QUIET_HOURS: quietWindowAround(new Date(), 'America/Los_Angeles') } });
    opened.push({ h });
    const s = await stream(h);
    await s.next('the first campaigns panel', (e) => e.campaigns);
    const started = await h.server.callTool('start_campaign', {
      name: 'held',
      template: 'Hi {{n}}',
      rate_per_second: 0,
      recipients: [0, 1].map((i) => ({ to: `+1415555310${i}`, variables: { n: String(i) } })),
    });
    const id = started.json.campaign_id as string;
    const held = await s.next('the held campaign', (e) => e.campaigns?.campaigns?.find((c: { campaign_id: string; counts: { held?: number } }) => c.campaign_id === id && c.counts.held === 2));
    expect(held.state).toBe('running');
    // Straight through the service: only the engine's progress event can tell the feed.
    await h.server.app.services.campaigns.control({ campaign_id: id, action: 'pause' });
    const paused = await s.next('the paused campaign', (e) => e.campaigns?.campaigns?.find((c: { campaign_id: string; state: string }) => c.campaign_id === id && c.state === 'paused'));
    expect(paused.counts).toMatchObject({ held: 2 });
  });
});
