/**
 * Issue 7, parts 2–7: the claims the earlier session's tests left unproven, each through the
 * real server (startApp + createServer) and counted at the sandbox, never at the server's
 * own word. Each test was written against a break of the code it guards (see the commit
 * message); the cases here are the ones no other test failed for.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/cli/start-app.js';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { STORE_FILE_NAME } from '../../src/store/sqlite-store.js';
import { registerSecret } from '../../src/util/log.js';
import { startHttpApp, type HttpApp } from '../helpers/http-app.js';
import { connectInMemory, sandboxOutboundTo, appPerTest, parseOutcome, quietWindowAround, reachedSandbox, callsReachingSandbox } from '../helpers/in-process.js';

const start = appPerTest();
const SERVICE = 'MG5a4db0c0000000000000000000000000';
const SANDBOX_NUMBER = '+15005550006';

describe('opt-out scope through the server (§3)', () => {
  // A STOP that reaches the sandbox's number is recorded for that number AND its service,
  // so it cannot tell the scopes apart: an operator's opt-out for one sender can.
  it('an opt-out for the number blocks a send through a Messaging Service, and the reverse (account scope, the default)', async () => {
    const server = await start();
    const viaNumber = '+14155557001';
    expect((await server.callTool('add_opt_out', { recipient: viaNumber, sender: SANDBOX_NUMBER })).json).toMatchObject({ opted_out: true });
    expect(await reachedSandbox(server, viaNumber, async () => {
      const result = await server.callTool('send_sms', { to: viaNumber, body: 'through the service', messaging_service_sid: SERVICE });
      expect(result.isError).toBe(true);
      expect(result.json).toMatchObject({ twilio_code: 21610, rule: 'opt_out' });
    })).toBe(0);

    const viaService = '+14155557002';
    expect((await server.callTool('add_opt_out', { recipient: viaService, sender: SERVICE })).json).toMatchObject({ opted_out: true });
    expect(await reachedSandbox(server, viaService, async () => {
      expect((await server.callTool('send_sms', { to: viaService, body: 'from the number', from: SANDBOX_NUMBER })).isError).toBe(true);
    })).toBe(0);
  });

  it('opt_out_scope "sender" (the policy, through start-up) lets the other sender through and still blocks the one opted out of', async () => {
    const server = await start({ TWILIO_MCP_OPT_OUT_SCOPE: 'sender' });
    const to = '+14155557003';
    await server.callTool('add_opt_out', { recipient: to, sender: SANDBOX_NUMBER });
    expect(await reachedSandbox(server, to, () => server.callTool('send_sms', { to, body: 'other sender', messaging_service_sid: SERVICE }))).toBe(1);
    expect(await reachedSandbox(server, to, () => server.callTool('send_sms', { to, body: 'same sender', from: SANDBOX_NUMBER }))).toBe(0);
  });
});

describe('remove_opt_out reason (§3)', () => {
  it('9 characters besides spaces are refused and the opt-out stays; 10 are enough', async () => {
    const server = await start();
    const to = '+14155557010';
    await server.callTool('add_opt_out', { recipient: to });
    // Long enough by length (17), one short by content: only the non-space count can refuse it.
    const short = await server.callTool('remove_opt_out', { recipient: to, reason: '1 2 3 4 5 6 7 8 9' });
    expect(short.isError).toBe(true);
    expect(short.text).toMatch(/who agreed, how and when/);
    expect(await reachedSandbox(server, to, () => server.callTool('send_sms', { to, body: 'still out?' }))).toBe(0);

    const enough = await server.callTool('remove_opt_out', { recipient: to, reason: '1 2 3 4 5 6 7 8 9 0' });
    expect(enough.isError).toBe(false);
    expect(enough.json).toMatchObject({ removed: 1, still_opted_out: false });
    expect(await reachedSandbox(server, to, () => server.callTool('send_sms', { to, body: 'back in' }))).toBe(1);
  });
});

describe('stored reasons are redacted (§4)', () => {
  it('import_opt_outs redacts a secret in a CSV reason before it is stored', async () => {
    const filesDir = mkdtempSync(join(tmpdir(), 'mcp-twilio-claims-files-'));
    try {
      const secret = 'sk_claims_0123456789abcdef0123';
      registerSecret(secret);
      writeFileSync(join(filesDir, 'crm.csv'), `phone,reason\n+14155557020,"asked by email, ticket token ${secret}"\n`);
      const server = await start({ TWILIO_MCP_FILES_DIR: filesDir }, { toolsets: 'all' });
      expect((await server.callTool('import_opt_outs', { path: 'crm.csv' })).json).toMatchObject({ added: 1 });
      // Read the rows from the store's file itself: every tool result is redacted again on
      // the way out, so list_opt_outs would show [REDACTED] even for a secret stored in clear.
      const db = new Database(join(server.dataDir, STORE_FILE_NAME), { readonly: true });
      try {
        const stored = db.prepare("SELECT reason FROM opt_outs WHERE recipient = '+14155557020' UNION ALL SELECT reason FROM opt_out_audit WHERE recipient = '+14155557020'").all() as Array<{ reason: string }>;
        expect(stored.map((r) => r.reason)).toEqual(['asked by email, ticket token [REDACTED]', 'asked by email, ticket token [REDACTED]']);
      } finally {
        db.close();
      }
    } finally {
      rmSync(filesDir, { recursive: true, force: true });
    }
  });
});

describe('quiet hours by number range, through the server (§4)', () => {
  // The window is built around "now" in one zone, ±30 minutes: a number in a zone an hour
  // away is outside it. So one window proves both the refusal and that it is per number.
  const NOW = new Date();

  it('a window around now in Chicago refuses 402, 531, 334, 985 and the Central part of 605/701; 915, 458 and 212 go out', async () => {
    const server = await start({ TWILIO_MCP_QUIET_HOURS: quietWindowAround(NOW, 'America/Chicago', 30) });
    for (const [area, expected] of [['402', 0], ['531', 0], ['334', 0], ['985', 0], ['605', 0], ['701', 0], ['915', 1], ['458', 1], ['212', 1]] as const) {
      const to = `+1${area}5557030`;
      expect(await reachedSandbox(server, to, () => server.callTool('send_sms', { to, body: `quiet? ${area}` })), `+1 ${area}`).toBe(expected);
    }
  });

  it('a number spanning zones is quiet if any zone is: a window around now in Denver refuses 605 and 701 (also Central), not 402', async () => {
    const server = await start({ TWILIO_MCP_QUIET_HOURS: quietWindowAround(NOW, 'America/Denver', 30) });
    for (const [area, expected] of [['605', 0], ['701', 0], ['915', 0], ['402', 1], ['458', 1]] as const) {
      const to = `+1${area}5557040`;
      let refusal: Record<string, unknown> | undefined;
      expect(await reachedSandbox(server, to, async () => {
        const result = await server.callTool('send_sms', { to, body: `quiet? ${area}` });
        if (result.isError) refusal = result.json;
      }), `+1 ${area}`).toBe(expected);
      if (expected === 0) expect(refusal).toMatchObject({ rule: 'quiet_hours' });
    }
  });
});

describe('status callbacks the agent names (§4, the embedded sandbox)', () => {
  let listener: Server;
  let hits = 0;
  let port = 0;
  beforeAll(async () => {
    listener = createHttpServer((req, res) => {
      hits += 1;
      res.end('ok');
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    port = (listener.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => listener.close(() => resolve())));

  it('a loopback status_callback or TwiML url that is not the server\'s receiver is refused: nothing created, nothing posted', async () => {
    const server = await start({ TWILIO_SANDBOX_DELIVERY_MS: '50' }, { toolsets: 'all' });
    for (const host of ['127.0.0.1', 'localhost', '[::1]']) {
      const to = '+14155557050';
      expect(await reachedSandbox(server, to, async () => {
        const result = await server.callTool('send_sms', { to, body: `callback to ${host}`, status_callback: `http://${host}:${port}/hook` });
        expect(result.isError, host).toBe(true);
        expect(result.json.twilio_code, host).toBe(21609);
      })).toBe(0);
    }
    expect(await callsReachingSandbox(server, '+14155557051', async () => {
      expect((await server.callTool('make_call', { to: '+14155557051', url: `http://127.0.0.1:${port}/twiml` })).isError).toBe(true);
    })).toBe(0);
    // A send with the server's own callback goes out (the refusals above are not a broken path).
    expect(await reachedSandbox(server, '+14155557052', () => server.callTool('send_sms', { to: '+14155557052', body: 'own receiver' }))).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hits).toBe(0);
  });
});

describe('Messaging Service only: the country comes from the service\'s numbers (§4)', () => {
  let sandbox: SandboxHandle;
  let app: App;
  let client: Client;
  let dataDir: string;

  /** Outgoing messages the standalone sandbox holds for `to`, from its own REST API. */
  const atSandbox = (to: string) => sandboxOutboundTo(sandbox, to);

  beforeAll(async () => {
    sandbox = await startSandbox({ timing: { sendingMs: 60_000, sentMs: 60_000, deliveredMs: 60_000 } });
    dataDir = mkdtempSync(join(tmpdir(), 'mcp-twilio-claims-mg-'));
    // Live-style credentials against a sandbox of its own, and no TWILIO_PHONE_NUMBER: the
    // configuration that once made every destination "not restricted".
    app = await startApp({
      forceSandbox: false,
      readOnly: false,
      toolsets: undefined,
      webhookPort: undefined,
      env: {
        TWILIO_ACCOUNT_SID: sandbox.accountSid,
        TWILIO_AUTH_TOKEN: sandbox.authToken,
        TWILIO_MESSAGING_SERVICE_SID: sandbox.messagingServiceSid,
        TWILIO_MCP_API_BASE_URL: sandbox.baseUrl,
        TWILIO_MCP_QUIET_HOURS: 'off',
        TWILIO_MCP_DATA_DIR: dataDir,
      },
    });
    expect(app.mode).toBe('live');
    client = await connectInMemory(app, { name: 'claims-mg' });
  });
  afterAll(async () => {
    await client?.close();
    await app?.close();
    await sandbox?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses GB, JM, NG and an international-network number, naming the country; sends to the service\'s own country', async () => {
    for (const to of ['+447700900123', '+18765550123', '+2348031234567', '+882123456789']) {
      const result = parseOutcome(await client.callTool({ name: 'send_sms', arguments: { to, body: 'abroad' } }));
      expect(result.isError, to).toBe(true);
      expect(result.json, to).toMatchObject({ rule: 'allowed_countries' });
      expect(await atSandbox(to), to).toBe(0);
    }
    const home = parseOutcome(await client.callTool({ name: 'send_sms', arguments: { to: '+14155557060', body: 'at home' } }));
    expect(home.isError, home.text).toBe(false);
    expect(await atSandbox('+14155557060')).toBe(1);
  });
});

describe('first-contact confirmation is single-use (§4, 2026-07-28 over HTTP)', () => {
  const ACCEPT = { confirm_first_contact: { action: 'accept', content: { confirm: true } } };
  let served: HttpApp;

  beforeAll(async () => {
    served = await startHttpApp({ name: 'claims-confirm', env: { TWILIO_MCP_FIRST_CONTACT: 'confirm', TWILIO_MCP_QUIET_HOURS: 'off', TWILIO_SANDBOX_DELIVERY_MS: '60000' } });
  });
  afterAll(async () => {
    await served?.close();
  });

  type Round = { resultType?: string; requestState?: string; isError?: boolean };
  const call = (args: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    served.client.callTool({ name: 'send_sms', arguments: args, ...extra } as never, { allowInputRequired: true } as never) as Promise<Round>;
  const atSandbox = (to: string) => served.atSandbox(to);

  // The replay in the server test comes after a send, when the number is no longer a first
  // contact: it cannot fail. After a decline the number still is one, so a replay that
  // counted would send.
  it('the request state of a declined question, replayed with "accept", confirms nothing', async () => {
    const args = { to: '+14155557070', body: 'declined, then replayed' };
    const asked = await call(args);
    expect(asked.resultType).toBe('input_required');
    const declined = await call(args, { inputResponses: { confirm_first_contact: { action: 'decline' } }, requestState: asked.requestState });
    expect(declined.isError).toBe(true);
    const replayed = await call(args, { inputResponses: ACCEPT, requestState: asked.requestState });
    expect(replayed.resultType).toBe('input_required');
    expect(await atSandbox(args.to)).toBe(0);
  });
});

describe('phone addresses in the later toolsets (§2)', () => {
  it('start_verification, check_verification and cancel_verification give a national number the same "Did you mean" refusal as send_sms', async () => {
    const server = await start(undefined, { toolsets: 'all' });
    const sms = await server.callTool('send_sms', { to: '(415) 555-0142', body: 'hi' });
    expect(sms.text).toMatch(/Did you mean \+14155550142\?/);
    for (const [tool, args] of [
      ['start_verification', { to: '(415) 555-0142' }],
      ['check_verification', { to: '(415) 555-0142', code: '123456' }],
      ['cancel_verification', { to: '(415) 555-0142' }],
    ] as const) {
      const result = await server.callTool(tool, args);
      expect(result.isError, tool).toBe(true);
      expect(result.text, tool).toMatch(/Did you mean \+14155550142\? Resend with "to": "\+14155550142"/);
    }
    // A full-width, punctuated spelling is the same person; an email stays an email.
    const started = await server.callTool('start_verification', { to: ' ＋１ (４１５) ５５５-０１４２ ' });
    expect(started.isError, started.text).toBe(false);
    expect(started.json.to).toBe('+14155550142');
    expect((await server.callTool('start_verification', { to: ' Ada@Example.com ', channel: 'email' })).json.to).toBe('ada@example.com');
  });

  it('manage_conversation add_participant reads address and proxy_address through the normaliser (suggestion, impossible length)', async () => {
    const server = await start(undefined, { toolsets: 'all' });
    const created = await server.callTool('manage_conversation', { action: 'create', friendly_name: 'claims' });
    const conversation = String(created.json.conversation_sid);
    const national = await server.callTool('manage_conversation', { action: 'add_participant', conversation, address: '(415) 555-0142' });
    expect(national.isError).toBe(true);
    expect(national.text).toMatch(/Did you mean \+14155550142\? Resend with "address": "\+14155550142"/);
    const tooShort = await server.callTool('manage_conversation', { action: 'add_participant', conversation, address: '+1415555' });
    expect(tooShort.isError).toBe(true);
    expect(tooShort.text).toMatch(/too few digits/);
    const badProxy = await server.callTool('manage_conversation', { action: 'add_participant', conversation, address: '+14155550142', proxy_address: '(500) 555-0006' });
    expect(badProxy.isError).toBe(true);
    expect(badProxy.text).toMatch(/Did you mean \+15005550006\?/);
    const added = await server.callTool('manage_conversation', { action: 'add_participant', conversation, address: 'WhatsApp:+1 (415) 555-0142' });
    expect(added.isError, added.text).toBe(false);
    expect(added.json.address).toBe('whatsapp:+14155550142');
  });
});

describe('campaign rows are judged by the one normaliser (§2)', () => {
  // Rows cannot be refused by the tool schema (one bad row must not refuse the campaign, and
  // files have no schema), so each row gets the phone type's own judgement: length for its
  // country, and the suggestion for a national number.
  it('a number too short for its country is invalid, not sent; a national one is invalid with the E.164 to use', async () => {
    const server = await start(undefined, { toolsets: 'all' });
    const rows = [{ to: '+1415555' }, { to: '(415) 555-7080' }, { to: '＋１ ４１５ ５５５ ７０８１' }];
    const dry = await server.callTool('start_campaign', { name: 'rows', template: 'hello', recipients: rows, dry_run: true });
    expect(dry.json).toMatchObject({ rows: 3, would_send: 1, counts: { pending: 1, invalid: 2 } });
    const reasons = (dry.json.problems as Array<{ row: number; reason: string }>).map((p) => [p.row, p.reason]);
    expect(reasons).toEqual([
      [1, expect.stringMatching(/^row 1: .*\+1415555 has too few digits for its country/)],
      [2, expect.stringMatching(/^row 2: .*Did you mean \+14155557080\?/)],
    ]);
    const started = await server.callTool('start_campaign', { name: 'rows', template: 'hello', recipients: rows, wait_seconds: 10 });
    expect(started.isError, started.text).toBe(false);
    expect(await server.sandboxMessagesTo('+1415555')).toBe(0);
    expect(await server.sandboxMessagesTo('+14155557081')).toBe(1);
  });
});

describe('get_messaging_insights "from" is a sender through the one normaliser (§2)', () => {
  it('a spaced spelling counts the sender\'s messages; a national one is refused with the E.164 to use, not an empty report', async () => {
    const server = await start(undefined, { toolsets: 'all' });
    expect(await reachedSandbox(server, '+14155557095', () => server.callTool('send_sms', { to: '+14155557095', body: 'counted' }))).toBe(1);
    const spaced = await server.callTool('get_messaging_insights', { from: ' +1 500-555-0006 ' });
    expect(spaced.isError, spaced.text).toBe(false);
    expect(spaced.json.sent).toBeGreaterThanOrEqual(1);
    const national = await server.callTool('get_messaging_insights', { from: '(500) 555-0006' });
    expect(national.isError).toBe(true);
    expect(national.text).toMatch(/Did you mean \+15005550006\?/);
  });
});
