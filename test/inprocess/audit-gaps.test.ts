/**
 * Claims from the README and issue 7 that an audit broke on purpose and no test caught.
 * Each test here fails with the break named above it and passes without it. In process
 * (real startApp + createServer, embedded sandbox, real store) so Stryker's mutants reach
 * them; what reached "Twilio" is counted at the sandbox, never through the server's tools.
 */
import Database from 'better-sqlite3';
import twilio from 'twilio';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { appPerTest, quietWindowAround, reachedSandbox, type InProcessServer } from '../helpers/in-process.js';

/**
 * Every twilio SDK client the server makes, kept so a test can read the SDK's own idea of
 * its log level. The factory is wrapped, not replaced: requests still go to the sandbox.
 */
const sdkClients = vi.hoisted(() => [] as Array<{ logLevel?: string }>);
vi.mock('twilio', async (importOriginal) => {
  const real = (await importOriginal<{ default: typeof twilio }>()).default;
  const recording = Object.assign((...args: Parameters<typeof real>) => {
    const client = real(...args);
    sdkClients.push(client as unknown as { logLevel?: string });
    return client;
  }, real);
  return { default: recording };
});

const start = appPerTest();
const NEW_YORK = 'America/New_York';

/** The first whole hour from now (at least one hour ahead) at which New York's clock reads `hour`:00. */
function nextNewYorkHour(hour: number, from = new Date()): Date {
  const hourIn = (d: Date) => Number(new Intl.DateTimeFormat('en-GB', { timeZone: NEW_YORK, hour: '2-digit', hourCycle: 'h23' }).format(d));
  const t = new Date(from);
  t.setUTCMinutes(0, 0, 0);
  for (let k = 1; k <= 49; k++) {
    const candidate = new Date(t.getTime() + k * 3_600_000);
    // send_at must be at least 15 minutes ahead: the next whole hour may be closer than that.
    if (candidate.getTime() - from.getTime() >= 3_600_000 && hourIn(candidate) === hour) return candidate;
  }
  throw new Error(`no ${hour}:00 in New York within 48 hours`);
}

/** POSTs a signed inbound SMS to the app's own receiver, as Twilio would, with an optional idempotency token. */
async function postInbound(server: InProcessServer, params: Record<string, string>, idempotencyToken?: string): Promise<number> {
  const handle = await server.sandbox();
  const auth = `Basic ${Buffer.from(`${handle.accountSid}:${handle.authToken}`).toString('base64')}`;
  const numbers = (await (
    await fetch(`${handle.baseUrl}/2010-04-01/Accounts/${handle.accountSid}/IncomingPhoneNumbers.json?${new URLSearchParams({ PhoneNumber: handle.testSenderNumber })}`, {
      headers: { authorization: auth },
    })
  ).json()) as { incoming_phone_numbers: Array<{ sms_url: string }> };
  // The sandbox number's SMS URL is this server's receiver (startApp points it there).
  const url = numbers.incoming_phone_numbers[0]!.sms_url;
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/webhooks\/twilio\/messages\/inbound$/);
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilio.getExpectedTwilioSignature(handle.authToken, url, params),
      ...(idempotencyToken && { 'i-twilio-idempotency-token': idempotencyToken }),
    },
    body: new URLSearchParams(params).toString(),
  });
  await response.text();
  return response.status;
}

describe('quiet hours judge send_at, through send_sms (break: the tool no longer hands send_at to the pipeline)', () => {
  it('a send_at at 03:00 for the recipient is refused like a send at 03:00, and nothing is scheduled; 15:00 is scheduled', async () => {
    // Quiet 21:00–08:00 New York: at most times of day "now" is outside it, so only send_at can refuse.
    const server = await start({ TWILIO_MCP_QUIET_HOURS: '21:00-08:00' });
    const to = '+12125550871';
    const night = nextNewYorkHour(3);
    const refused = await reachedSandbox(server, to, async () => {
      const result = await server.callTool('send_sms', { to, body: 'overnight reminder', send_at: night.toISOString() });
      expect(result.isError, result.text).toBe(true);
      expect(result.json).toMatchObject({ rule: 'quiet_hours', recipient_time_zone: NEW_YORK });
    });
    expect(refused).toBe(0);
    const afternoon = nextNewYorkHour(15);
    const scheduled = await reachedSandbox(server, to, async () => {
      const result = await server.callTool('send_sms', { to, body: 'afternoon reminder', send_at: afternoon.toISOString() });
      expect(result.isError, result.text).toBe(false);
      expect(result.json.scheduled_at).toBe(afternoon.toISOString());
    });
    expect(scheduled).toBe(1);
  });
});

describe('send_conversation_message hands transactional and allow_duplicate to the guard (break: the service drops either)', () => {
  async function conversationWith(server: InProcessServer, person: string): Promise<string> {
    const created = await server.callTool('manage_conversation', { action: 'create' });
    expect(created.isError, created.text).toBe(false);
    const conversation = created.json.conversation_sid as string;
    expect((await server.callTool('manage_conversation', { action: 'add_participant', conversation, address: person })).isError).toBe(false);
    return conversation;
  }

  it('inside quiet hours: refused without transactional, delivered with transactional: true', async () => {
    const server = await start({ TWILIO_MCP_QUIET_HOURS: quietWindowAround(new Date(), NEW_YORK) }, { toolsets: 'all' });
    const person = '+12125550872';
    const conversation = await conversationWith(server, person);
    const held = await reachedSandbox(server, person, async () => {
      expect((await server.callTool('send_conversation_message', { conversation, body: 'late update' })).json.rule).toBe('quiet_hours');
    });
    expect(held).toBe(0);
    const urgent = await reachedSandbox(server, person, async () => {
      const sent = await server.callTool('send_conversation_message', { conversation, body: 'your code is 482913', transactional: true });
      expect(sent.isError, sent.text).toBe(false);
    });
    expect(urgent).toBe(1);
  });

  it('the same text twice is refused as a duplicate; allow_duplicate: true posts it', async () => {
    const server = await start({}, { toolsets: 'all' });
    const person = '+14155550873';
    const conversation = await conversationWith(server, person);
    const post = (extra: Record<string, unknown> = {}) => server.callTool('send_conversation_message', { conversation, body: 'Your table is ready.', ...extra });
    expect(await reachedSandbox(server, person, post)).toBe(1);
    const again = await reachedSandbox(server, person, async () => {
      expect((await post()).json.rule).toBe('duplicate');
    });
    expect(again).toBe(0);
    const wanted = await reachedSandbox(server, person, async () => {
      const sent = await post({ allow_duplicate: true });
      expect(sent.isError, sent.text).toBe(false);
    });
    expect(wanted).toBe(1);
  });
});

describe('MMS (send_sms with media_url) hands the flags to the guard too', () => {
  it('transactional: true sends an MMS inside quiet hours; allow_duplicate: true repeats one', async () => {
    const server = await start({ TWILIO_MCP_QUIET_HOURS: quietWindowAround(new Date(), NEW_YORK) });
    const to = '+12125550874';
    const mms = (extra: Record<string, unknown>) => server.callTool('send_sms', { to, body: 'your boarding pass', media_url: ['https://example.com/pass.png'], ...extra });
    expect(await reachedSandbox(server, to, async () => expect((await mms({})).json.rule).toBe('quiet_hours'))).toBe(0);
    expect(await reachedSandbox(server, to, async () => expect((await mms({ transactional: true })).isError).toBe(false))).toBe(1);
    expect(await reachedSandbox(server, to, async () => expect((await mms({ transactional: true })).json.rule).toBe('duplicate'))).toBe(0);
    expect(await reachedSandbox(server, to, async () => expect((await mms({ transactional: true, allow_duplicate: true })).isError).toBe(false))).toBe(1);
  });
});

describe('every default keyword, counted at the sandbox (break: a keyword removed from the list)', () => {
  const OPT_OUT = ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT'];
  const OPT_IN = ['START', 'YES', 'UNSTOP'];
  let server: InProcessServer;
  const inbound = async (from: string, body: string) => {
    const result = await server.callTool('simulate_inbound_message', { from, body });
    expect(result.json).toMatchObject({ stored: true, receiver_status: 200 });
  };

  it('each opt-out keyword stops the next send reaching the sandbox; each opt-in keyword lets it through again', async () => {
    server = await start();
    for (const [i, keyword] of OPT_OUT.entries()) {
      const person = `+1415555${String(1200 + i).padStart(4, '0')}`;
      // Sent before: the refusal below is the keyword's doing, not a broken send path.
      expect(await reachedSandbox(server, person, () => server.callTool('send_sms', { to: person, body: 'before' })), keyword).toBe(1);
      await inbound(person, keyword.toLowerCase());
      const after = await reachedSandbox(server, person, async () => {
        expect((await server.callTool('send_sms', { to: person, body: `after ${keyword}` })).json.twilio_code, keyword).toBe(21610);
      });
      expect(after, keyword).toBe(0);
    }
    for (const [i, keyword] of OPT_IN.entries()) {
      const person = `+1415555${String(1250 + i).padStart(4, '0')}`;
      await inbound(person, 'STOP');
      await inbound(person, ` ${keyword} `);
      expect(await reachedSandbox(server, person, () => server.callTool('send_sms', { to: person, body: `after ${keyword}` })), keyword).toBe(1);
    }
  });
});

describe('opt-outs cover the whole account by default (break: opt_out_scope defaults to "sender")', () => {
  it('a STOP to one number blocks a send from another number of the account', async () => {
    const server = await start({ TWILIO_MCP_ALLOW_NUMBER_PURCHASE: 'true' }, { toolsets: 'all' });
    const forSale = await server.callTool('search_available_numbers', { country: 'US', area_code: 415, limit: 1 });
    const bought = await server.callTool('buy_phone_number', { phone_number: forSale.json.available[0].phone_number });
    expect(bought.isError, bought.text).toBe(false);
    const otherNumber = bought.json.phone_number as string;
    const person = '+14155550875';
    // The control: the second number can reach this person at all.
    expect(await reachedSandbox(server, person, () => server.callTool('send_sms', { to: person, body: 'from the new number', from: otherNumber }))).toBe(1);
    // STOP to the sandbox's default number (the inbound also names its Messaging Service, not the new number).
    expect((await server.callTool('simulate_inbound_message', { from: person, body: 'STOP' })).json.stored).toBe(true);
    const after = await reachedSandbox(server, person, async () => {
      const refused = await server.callTool('send_sms', { to: person, body: 'from the new number again', from: otherNumber });
      expect(refused.json).toMatchObject({ twilio_code: 21610, rule: 'opt_out' });
    });
    expect(after).toBe(0);
  });
});

describe('the store fsyncs what it acknowledges (break: synchronous = OFF)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('every connection the server opens to its SQLite file is at least NORMAL, and the one that commits webhooks and reservations is FULL', async () => {
    const pragma = vi.spyOn(Database.prototype, 'pragma');
    const server = await start();
    // Opens the store (lazily) and commits a reservation and a webhook on it.
    expect((await server.callTool('send_sms', { to: '+14155550876', body: 'durable' })).isError).toBe(false);
    expect((await server.callTool('simulate_inbound_message', { from: '+14155550876', body: 'thanks' })).json.stored).toBe(true);
    const connections = [...new Set(pragma.mock.contexts as Database.Database[])].filter((db) => db.open && db.name.endsWith('.sqlite'));
    // The main connection is the one that switched the file to WAL.
    const main = connections.filter((db) => pragma.mock.calls.some((call, i) => pragma.mock.contexts[i] === db && call[0] === 'journal_mode = WAL'));
    pragma.mockRestore();
    expect(main.length).toBeGreaterThan(0);
    // 2 = FULL, 1 = NORMAL, 0 = OFF.
    for (const db of main) expect(db.pragma('synchronous', { simple: true })).toBe(2);
    for (const db of connections) expect(db.pragma('synchronous', { simple: true })).toBeGreaterThanOrEqual(1);
  });
});

describe('webhook dedup honours I-Twilio-Idempotency-Token (break: the receiver ignores the header)', () => {
  it('a second request carrying an idempotency token already stored is not stored again', async () => {
    const server = await start();
    const handle = await server.sandbox();
    const token = 'idem-5b0c2c1e-audit';
    const message = (n: number, body: string) => {
      const sid = `SM${String(n).padStart(32, 'a')}`;
      return { MessageSid: sid, SmsSid: sid, AccountSid: handle.accountSid, From: '+14155550877', To: handle.testSenderNumber, Body: body, NumMedia: '0', ApiVersion: '2010-04-01' };
    };
    expect(await postInbound(server, message(1, 'first delivery'), token)).toBe(200);
    // Same token: Twilio's retry of that delivery. Answered 200 (so Twilio stops), stored once.
    expect(await postInbound(server, message(2, 'retry of the first delivery'), token)).toBe(200);
    const bodies = ((await server.callTool('list_inbound_messages', { from: '+14155550877' })).json.messages as Array<{ body: string }>).map((m) => m.body);
    expect(bodies).toEqual(['first delivery']);
  });
});

describe('the twilio SDK never runs at debug level (break: the gateway stops pinning logLevel)', () => {
  const saved = process.env.TWILIO_LOG_LEVEL;
  afterEach(() => {
    if (saved === undefined) delete process.env.TWILIO_LOG_LEVEL;
    else process.env.TWILIO_LOG_LEVEL = saved;
  });

  it("with TWILIO_LOG_LEVEL=debug in the environment, the SDK client's own log level is not debug", async () => {
    // The SDK reads TWILIO_LOG_LEVEL into client.logLevel (BaseTwilio.setOpts); today it passes
    // only opts.logLevel to requests, so nothing prints either way. The pin is what keeps stdout
    // clean if that changes: this checks the SDK's own resolved level, which the pin decides.
    process.env.TWILIO_LOG_LEVEL = 'debug';
    sdkClients.length = 0;
    const server = await start();
    expect((await server.callTool('send_sms', { to: '+14155550878', body: 'quiet sdk' })).isError).toBe(false);
    expect(sdkClients.length).toBeGreaterThan(0);
    for (const client of sdkClients) expect(client.logLevel).not.toBe('debug');
  });
});
