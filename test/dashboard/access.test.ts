/**
 * Who may read the dashboard: nothing without a session; a one-time link signs in once; the
 * server's bearer token signs in beyond loopback; foreign Host, Origin and cross-site
 * requests are refused; guessing stops at the failure limit; and every answer carries a
 * CSP without inline scripts, frame-ancestors 'none', and never a CORS header.
 */
import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startDashboard, type DashboardHarness, type Reply } from './harness.js';

const LINK = 'one-time-link-token-for-tests-0123456789abcdef';
const BEARER = 'bearer-token-for-tests-0123456789';
const opened: DashboardHarness[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(opened.splice(0).map((h) => h.close()));
});
async function harness(options: Parameters<typeof startDashboard>[0] = {}) {
  const h = await startDashboard(options);
  opened.push(h);
  return h;
}
const auth = (token: string) => ({ authorization: `Bearer ${token}` });

async function signIn(h: DashboardHarness, token = LINK): Promise<string> {
  const reply = await h.request('/dashboard/api/session', { method: 'POST', headers: auth(token) });
  expect(reply.status, reply.body).toBe(200);
  return reply.json().session_token as string;
}

function expectLockedDown(reply: Reply) {
  const csp = String(reply.headers['content-security-policy'] ?? '');
  expect(csp).toMatch(/script-src 'self'/);
  expect(csp).toMatch(/frame-ancestors 'none'/);
  expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
  expect(reply.headers['x-frame-options']).toBe('DENY');
  expect(reply.headers['x-content-type-options']).toBe('nosniff');
  expect(reply.headers['referrer-policy']).toBe('no-referrer');
  expect(Object.keys(reply.headers).filter((k) => k.startsWith('access-control-'))).toEqual([]);
}

/** Opens the event stream and returns the status and the first `panels` event (or the refusal body). */
function openStream(h: DashboardHarness, path: string): Promise<{ status: number; first: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: h.port, path, headers: { host: `127.0.0.1:${h.port}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (res.statusCode !== 200 || /event: panels\ndata: .*\n\n/.test(text)) {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, first: text });
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, first: text }));
    });
    req.on('error', (e) => (e.message.includes('socket hang up') ? undefined : reject(e)));
    req.end();
  });
}

describe('dashboard access on loopback', () => {
  it('refuses every data route without a session, and the page itself holds no data', async () => {
    const h = await harness({ linkTokens: [LINK] });
    for (const path of ['/dashboard/api/panels', '/dashboard/api/panels?period=today']) {
      const reply = await h.request(path);
      expect(reply.status).toBe(401);
      expect(reply.json().error).toMatch(/Not signed in/);
      expect(reply.headers['www-authenticate']).toMatch(/^Bearer/);
      expectLockedDown(reply);
    }
    expect((await h.request('/dashboard/api/stream-ticket', { method: 'POST' })).status).toBe(401);
    expect((await h.request('/dashboard/api/campaigns/CP00000000000000000000000000000000/pause', { method: 'POST' })).status).toBe(401);
    expect((await openStream(h, '/dashboard/api/events?period=today')).status).toBe(401);
    expect((await h.request('/dashboard/api/panels', { headers: auth('not-a-session') })).status).toBe(401);
    const page = await h.request('/dashboard');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['cache-control']).toBe('no-store');
    expectLockedDown(page);
  });

  it('the one-time link signs in once; its session reads the panels until it signs out', async () => {
    const h = await harness({ linkTokens: [LINK] });
    const session = await signIn(h);
    const again = await h.request('/dashboard/api/session', { method: 'POST', headers: auth(LINK) });
    expect(again.status).toBe(401);
    expect(again.json().error).toMatch(/used already/);
    // The link token is no session token either.
    expect((await h.request('/dashboard/api/panels', { headers: auth(LINK) })).status).toBe(401);

    const panels = await h.request('/dashboard/api/panels?period=today', { headers: auth(session) });
    expect(panels.status, panels.body).toBe(200);
    expectLockedDown(panels);
    expect(Object.keys(panels.json()).sort()).toEqual(['calls', 'campaigns', 'delivery', 'failures', 'guardrails', 'inbox']);
    expect(panels.json().delivery).toMatchObject({ sent: 0, window: { label: 'today (UTC)' } });

    expect((await h.request('/dashboard/api/session', { method: 'DELETE', headers: auth(session) })).status).toBe(200);
    expect((await h.request('/dashboard/api/panels', { headers: auth(session) })).status).toBe(401);
  });

  it('without a configured bearer token nothing else signs in', async () => {
    const h = await harness({ linkTokens: [LINK] });
    expect((await h.request('/dashboard/api/session', { method: 'POST' })).status).toBe(401);
    expect((await h.request('/dashboard/api/session', { method: 'POST', headers: auth('') })).status).toBe(401);
    expect((await h.request('/dashboard/api/session', { method: 'POST', headers: auth(`${LINK}x`) })).status).toBe(401);
  });

  it('refuses a foreign Host (DNS rebinding), a foreign Origin (another port too) and cross-site fetches', async () => {
    const h = await harness({ linkTokens: [LINK] });
    const session = await signIn(h);
    const refused = async (headers: Record<string, string>, path = '/dashboard/api/panels') => {
      const reply = await h.request(path, { headers: { ...auth(session), ...headers } });
      expectLockedDown(reply);
      return reply.status;
    };
    expect(await refused({ host: 'evil.example.com' })).toBe(403);
    expect(await refused({ host: `evil.example.com:${h.port}` }, '/dashboard')).toBe(403);
    expect(await refused({ origin: 'https://evil.example.com' })).toBe(403);
    // Another local port is another origin (another user's server, say).
    expect(await refused({ origin: `http://127.0.0.1:${h.port + 1}` })).toBe(403);
    expect(await refused({ origin: `http://localhost:${h.port}` })).toBe(403);
    expect(await refused({ 'sec-fetch-site': 'cross-site' })).toBe(403);
    expect(await refused({ 'sec-fetch-site': 'same-site' })).toBe(403);
    // The page's own requests pass.
    expect(await refused({ origin: `http://127.0.0.1:${h.port}`, 'sec-fetch-site': 'same-origin' })).toBe(200);
    expect(await refused({ host: `localhost:${h.port}` })).toBe(200);
    // A link from elsewhere may open the page (it holds no data), not its data.
    expect(await refused({ 'sec-fetch-site': 'cross-site' }, '/dashboard')).toBe(200);
  });

  it('answers no preflight and never grants CORS', async () => {
    const h = await harness({ linkTokens: [LINK] });
    const preflight = await h.request('/dashboard/api/panels', { method: 'OPTIONS', headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'GET' } });
    expect(preflight.status).toBe(405);
    expectLockedDown(preflight);
    const session = await signIn(h);
    expectLockedDown(await h.request('/dashboard/api/panels', { headers: { ...auth(session), origin: `http://127.0.0.1:${h.port}` } }));
  });

  it('stops answering a client that guesses, before comparing its next token', async () => {
    const h = await harness({ linkTokens: [LINK], access: { failureLimit: { maxFailures: 3, windowMs: 60_000 } } });
    for (let i = 0; i < 3; i++) expect((await h.request('/dashboard/api/session', { method: 'POST', headers: auth(`guess-${i}`) })).status).toBe(401);
    const blocked = await h.request('/dashboard/api/session', { method: 'POST', headers: auth(LINK) });
    expect(blocked.status).toBe(429);
    expect(blocked.headers['retry-after']).toBeDefined();
  });

  it('guessing session tokens on the data routes stops the same way', async () => {
    const h = await harness({ linkTokens: [LINK], access: { failureLimit: { maxFailures: 3, windowMs: 60_000 } } });
    const session = await signIn(h);
    for (let i = 0; i < 3; i++) expect((await h.request('/dashboard/api/panels', { headers: auth(`guess-${i}`) })).status).toBe(401);
    expect((await h.request('/dashboard/api/panels', { headers: auth(session) })).status).toBe(429);
  });

  it('an event stream needs a ticket, which works once', async () => {
    const h = await harness({ linkTokens: [LINK] });
    const session = await signIn(h);
    const { ticket } = (await h.request('/dashboard/api/stream-ticket', { method: 'POST', headers: auth(session) })).json();
    const stream = await openStream(h, `/dashboard/api/events?ticket=${ticket}&period=today`);
    expect(stream.status).toBe(200);
    const panels = JSON.parse(/event: panels\ndata: (.*)\n\n/.exec(stream.first)![1]!);
    expect(panels.delivery.sent).toBe(0);
    expect((await openStream(h, `/dashboard/api/events?ticket=${ticket}&period=today`)).status).toBe(401);
    expect((await openStream(h, `/dashboard/api/events?ticket=${session}&period=today`)).status).toBe(401);
  });

  it('prints a fresh one-time link on stderr when asked, at most every few seconds', async () => {
    const h = await harness({ linkTokens: [LINK] });
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
    const asked = await h.request('/dashboard/api/link', { method: 'POST' });
    expect(asked.status).toBe(202);
    expect(asked.body).not.toMatch(/token/);
    const printed = lines.join('').match(new RegExp(`http://127\\.0\\.0\\.1:${h.port}/dashboard#token=([A-Za-z0-9_-]{43})`));
    expect(printed).not.toBeNull();
    expect((await h.request('/dashboard/api/link', { method: 'POST' })).status).toBe(429);
    await signIn(h, printed![1]);
  });
});

describe('dashboard access beyond loopback', () => {
  it('signs in with the bearer token of /mcp only, answers only its allowed hosts, and offers no links', async () => {
    const h = await harness({ linkTokens: [LINK], access: { loopback: false, bearerToken: BEARER, allowedHosts: ['dash.example.com'] } });
    const at = { host: 'dash.example.com' };
    expect((await h.request('/dashboard/api/panels', { headers: at })).status).toBe(401);
    // A loopback Host is not this server's name here.
    expect((await h.request('/dashboard/api/panels', { headers: { ...auth(BEARER) } })).status).toBe(403);
    // Links are a loopback thing: the one given is not accepted, and none is printed.
    expect((await h.request('/dashboard/api/session', { method: 'POST', headers: { ...at, ...auth(LINK) } })).status).toBe(401);
    expect((await h.request('/dashboard/api/link', { method: 'POST', headers: at })).status).toBe(404);
    const signed = await h.request('/dashboard/api/session', { method: 'POST', headers: { ...at, ...auth(BEARER) } });
    expect(signed.status).toBe(200);
    expect(signed.json().via).toBe('bearer');
    expect((await h.request('/dashboard/api/panels', { headers: { ...at, ...auth(signed.json().session_token) } })).status).toBe(200);
    // The bearer token itself is accepted as a credential too (curl, scripts).
    expect((await h.request('/dashboard/api/panels', { headers: { ...at, ...auth(BEARER) } })).status).toBe(200);
    expect((await h.request('/dashboard/api/access', { headers: at })).json()).toMatchObject({ loopback: false, token_sign_in: true });
  });
});

describe('dashboard campaign controls', () => {
  it('are off, on the page and in the API, where control_campaign is not a tool (read-only server)', async () => {
    const h = await harness({ linkTokens: [LINK], campaignControl: false });
    const session = await signIn(h);
    const refused = await h.request('/dashboard/api/campaigns/CP00000000000000000000000000000000/pause', { method: 'POST', headers: auth(session) });
    expect(refused.status).toBe(403);
    expect(refused.json().error).toMatch(/read-only/);
    expect((await h.request('/dashboard/api/panels?panels=campaigns', { headers: auth(session) })).json().campaigns).toMatchObject({ controls: false, controls_note: expect.stringMatching(/read-only/) });
    expect((await h.server.callTool('get_audit_log', { tool: 'control_campaign', limit: 5 })).json.entries).toEqual([]);
  });

  it('pause goes through the campaign service and is audited with the dashboard as client', async () => {
    const h = await harness({ linkTokens: [LINK] });
    const started = await h.server.callTool('start_campaign', {
      name: 'slow',
      template: 'Hi {{n}}',
      rate_per_second: 0.2,
      recipients: Array.from({ length: 5 }, (_, i) => ({ to: `+1415555${2000 + i}`, variables: { n: String(i) } })),
    });
    const id = started.json.campaign_id as string;
    const session = await signIn(h);
    const paused = await h.request(`/dashboard/api/campaigns/${id}/pause`, { method: 'POST', headers: auth(session) });
    expect(paused.status, paused.body).toBe(200);
    expect(paused.json()).toMatchObject({ campaign_id: id, state: 'paused' });
    expect((await h.server.callTool('get_campaign', { campaign_id: id })).json.state).toBe('paused');
    const audit = await h.server.callTool('get_audit_log', { tool: 'control_campaign', limit: 5 });
    expect(audit.json.entries).toEqual([expect.objectContaining({ tool: 'control_campaign', arguments: { campaign_id: id, action: 'pause' }, client: 'dashboard', session_id: expect.stringMatching(/^dashboard-[0-9a-f]{8}$/), error: null })]);
    const missing = await h.request('/dashboard/api/campaigns/CP00000000000000000000000000000000/resume', { method: 'POST', headers: auth(session) });
    expect(missing.status).toBe(404);
    expect((await h.server.callTool('get_audit_log', { tool: 'control_campaign', limit: 5 })).json.entries[0]).toMatchObject({ client: 'dashboard', error: expect.stringMatching(/no campaign/) });
    await h.request(`/dashboard/api/campaigns/${id}/cancel`, { method: 'POST', headers: auth(session) });
  });
});
