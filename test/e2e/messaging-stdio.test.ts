/**
 * End to end over stdio: the built server on its embedded sandbox, driven by the official
 * MCP client. Sends, delivery, Twilio's magic numbers, and every kind of bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callTool, connectStdio, pollUntil, type Connected } from '../helpers/server-process.js';

let server: Connected;

beforeAll(async () => {
  server = await connectStdio();
});
afterAll(async () => {
  await server?.close();
});

const send = (args: Record<string, unknown>) => callTool(server.client, 'send_sms', args);

describe('send_sms on the sandbox', () => {
  it('announces the sandbox and its sender on stderr, once', () => {
    const lines = server.stderr().split('\n').filter((l) => l.includes('embedded sandbox'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('+15005550006');
  });

  it('sends, reports encoding and segments, and is delivered', async () => {
    const sent = await send({ to: '+14155550100', body: 'Your table is ready.' });
    expect(sent.isError).toBe(false);
    expect(sent.structured).toEqual(sent.json);
    expect(sent.json).toMatchObject({
      message_sid: expect.stringMatching(/^SM[0-9a-f]{32}$/),
      from: '+15005550006',
      to: '+14155550100',
      body: 'Your table is ready.',
      status: 'queued',
      direction: 'outbound-api',
      encoding: 'GSM-7',
      segments: 1,
    });
    const delivered = await pollUntil(async () => {
      const got = await callTool(server.client, 'get_message', { sid: sent.json.message_sid });
      return got.json.status === 'delivered' ? got.json : undefined;
    });
    expect(delivered.price).toMatch(/^-\d+\.\d+$/);
    expect(delivered.price_unit).toBe('USD');
    expect(delivered.date_sent).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(delivered.num_segments).toBe(1);
  });

  it('counts UCS-2 segments for a message with an emoji', async () => {
    const sent = await send({ to: '+14155550101', body: `${'a'.repeat(69)}😀` });
    expect(sent.json).toMatchObject({ encoding: 'UCS-2', segments: 2 });
  });

  it('sends an MMS with media', async () => {
    const sent = await send({ to: '+14155550102', body: 'photo', media_url: ['https://example.com/a.jpg'] });
    expect(sent.isError).toBe(false);
    expect(sent.json.num_media).toBe(1);
  });

  it('ends undelivered with 30003 for the documented failure rule', async () => {
    const sent = await send({ to: '+14155553003', body: 'will not arrive' });
    const final = await pollUntil(async () => {
      const got = await callTool(server.client, 'get_message', { sid: sent.json.message_sid });
      return ['undelivered', 'failed'].includes(got.json.status) ? got.json : undefined;
    });
    expect(final).toMatchObject({ status: 'undelivered', error_code: 30003 });
    expect(final.error_meaning).toMatch(/Unreachable/);
  });
});

describe("Twilio's magic test numbers", () => {
  const cases: Array<[string, Record<string, string>, number]> = [
    ['To +15005550001 is invalid', { to: '+15005550001' }, 21211],
    ['To +15005550002 cannot be routed', { to: '+15005550002' }, 21612],
    ['To +15005550003 lacks international permission', { to: '+15005550003' }, 21408],
    ['To +15005550004 is opted out', { to: '+15005550004' }, 21610],
    ['To +15005550009 is not mobile', { to: '+15005550009' }, 21614],
    ['From +15005550001 is invalid', { to: '+14155550100', from: '+15005550001' }, 21212],
    ['From +15005550007 is not owned', { to: '+14155550100', from: '+15005550007' }, 21606],
    ['From +15005550008 has a full queue', { to: '+14155550100', from: '+15005550008' }, 21611],
  ];
  for (const [title, numbers, code] of cases) {
    it(`${title} → ${code}`, async () => {
      const result = await send({ ...numbers, body: 'test' });
      expect(result.isError).toBe(true);
      expect(result.json).toMatchObject({
        twilio_code: code,
        meaning: expect.any(String),
        next_step: expect.any(String),
        more_info: `https://www.twilio.com/docs/errors/${code}`,
      });
    });
  }
});

describe('bad input is refused before anything is sent', () => {
  it('suggests the E.164 form of a national number', async () => {
    const result = await send({ to: '(415) 555-0100', body: 'hi' });
    expect(result.isError).toBe(true);
    expect(result.json.error).toContain('Did you mean +14155550100? Resend with "to": "+14155550100".');
  });

  it('names the 1600-character limit', async () => {
    const result = await send({ to: '+14155550100', body: 'x'.repeat(1601) });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.json)).toMatch(/1600/);
    expect(JSON.stringify(result.json)).toMatch(/21617/);
  });

  it('refuses more than 10 media URLs and non-http URLs', async () => {
    const eleven = Array.from({ length: 11 }, (_, i) => `https://example.com/${i}.jpg`);
    expect((await send({ to: '+14155550100', body: 'x', media_url: eleven })).isError).toBe(true);
    expect((await send({ to: '+14155550100', body: 'x', media_url: ['ftp://example.com/a'] })).isError).toBe(true);
  });

  it('refuses an empty body and a missing recipient', async () => {
    expect((await send({ to: '+14155550100', body: '' })).isError).toBe(true);
    expect((await send({ body: 'x' })).isError).toBe(true);
  });

  it('refuses a schedule outside 15 minutes to 35 days', async () => {
    const soon = new Date(Date.now() + 60_000).toISOString();
    const result = await send({ to: '+14155550100', body: 'x', send_at: soon });
    expect(result.json).toMatchObject({ twilio_code: 35114 });
    expect((await send({ to: '+14155550100', body: 'x', send_at: 'tomorrow' })).json.error).toMatch(/send_at/);
  });

  it('refuses a malformed SID and explains an unknown one', async () => {
    expect((await callTool(server.client, 'get_message', { sid: 'SM123' })).isError).toBe(true);
    const missing = await callTool(server.client, 'get_message', { sid: `SM${'0'.repeat(32)}` });
    expect(missing).toMatchObject({ isError: true, json: { twilio_code: 20404 } });
  });

  it('refuses an invalid page token', async () => {
    const result = await callTool(server.client, 'list_messages', { page_token: 'garbage' });
    expect(result.isError).toBe(true);
    expect(result.json.next_step).toMatch(/next_page_token/);
  });

  it('refuses a page token that points elsewhere', async () => {
    const token = Buffer.from(JSON.stringify({ u: 'https://evil.example.com/steal', s: 0 })).toString('base64url');
    const result = await callTool(server.client, 'list_messages', { page_token: token });
    expect(result.isError).toBe(true);
  });
});

describe('scheduling, listing, WhatsApp', () => {
  it('schedules with the messaging service and cancels', async () => {
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const scheduled = await send({ to: '+14155550103', body: 'reminder', send_at: at });
    expect(scheduled.isError).toBe(false);
    expect(scheduled.json.status).toBe('scheduled');
    const canceled = await callTool(server.client, 'cancel_message', { sid: scheduled.json.message_sid });
    expect(canceled.json.status).toBe('canceled');
    const again = await callTool(server.client, 'cancel_message', { sid: scheduled.json.message_sid });
    expect(again).toMatchObject({ isError: true, json: { twilio_code: 30409 } });
  });

  it('lists by recipient across pages without repeats', async () => {
    const to = '+14155550199';
    for (let i = 0; i < 5; i++) expect((await send({ to, body: `n${i}` })).isError).toBe(false);
    const seen: string[] = [];
    let token: string | null = null;
    for (let page = 0; page < 5; page++) {
      const result = await callTool(server.client, 'list_messages', token ? { page_token: token, limit: 2 } : { to, limit: 2 });
      expect(result.isError).toBe(false);
      seen.push(...result.json.messages.map((m: { body: string }) => m.body));
      token = result.json.next_page_token;
      if (!token) break;
    }
    expect(seen.sort()).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
  });

  it('filters by status', async () => {
    const result = await callTool(server.client, 'list_messages', { status: 'canceled', limit: 5 });
    expect(result.json.messages.length).toBeGreaterThan(0);
    for (const m of result.json.messages) expect(m.status).toBe('canceled');
  });

  it('sends WhatsApp from the sandbox WhatsApp sender', async () => {
    const result = await callTool(server.client, 'send_whatsapp', { to: '+14155550104', body: 'hola' });
    expect(result.isError).toBe(false);
    expect(result.json).toMatchObject({ to: 'whatsapp:+14155550104', from: 'whatsapp:+15005550006' });
  });

  it('sends a WhatsApp template and refuses body + template together', async () => {
    const sid = `HX${'a'.repeat(32)}`;
    const ok = await callTool(server.client, 'send_whatsapp', { to: 'whatsapp:+14155550104', content_sid: sid, content_variables: { '1': 'Ada' } });
    expect(ok.isError).toBe(false);
    const both = await callTool(server.client, 'send_whatsapp', { to: '+14155550104', body: 'x', content_sid: sid });
    expect(both.isError).toBe(true);
  });
});
