/**
 * Results that tell the truth (issue 7 §5), through the real server in-process: scheduled
 * times shown everywhere, page tokens that keep their listing, crafted tokens refused
 * cleanly, GSM-7 look-alikes named with their cost, smart_encoding reaching Twilio.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';

let server: InProcessServer;
beforeAll(async () => {
  server = await startInProcess();
});
afterAll(() => server?.close());

describe('scheduled messages', () => {
  it('show their send time (UTC) in send_sms, get_message and list_messages', async () => {
    const at = new Date(Date.now() + 2 * 3_600_000);
    at.setUTCSeconds(0, 0);
    const to = '+14155551100';
    const sent = await server.callTool('send_sms', { to, body: 'see you', send_at: at.toISOString() });
    expect(sent.isError).toBe(false);
    expect(sent.json).toMatchObject({ status: 'scheduled', scheduled_at: at.toISOString() });
    expect((await server.callTool('get_message', { sid: sent.json.message_sid })).json).toMatchObject({ status: 'scheduled', scheduled_at: at.toISOString() });
    const listed = await server.callTool('list_messages', { to });
    expect(listed.json.messages).toEqual([expect.objectContaining({ message_sid: sent.json.message_sid, scheduled_at: at.toISOString() })]);
  });

  it('refuses send_at "" (it used to send at once) and a time without a zone, and nothing reaches the sandbox', async () => {
    const to = '+14155551101';
    for (const sendAt of ['', '2026-12-24T15:30:00']) {
      const result = await server.callTool('send_sms', { to, body: 'when?', send_at: sendAt });
      expect(result.isError).toBe(true);
      expect(result.text).toMatch(/Z|zone/);
    }
    expect(await server.sandboxMessagesTo(to)).toBe(0);
  });
});

describe('page tokens', () => {
  it('keep the page size they were made with, and refuse filters given with them', async () => {
    const to = '+14155551110';
    for (let i = 0; i < 5; i++) expect((await server.callTool('send_sms', { to, body: `page ${i}` })).isError).toBe(false);
    const first = await server.callTool('list_messages', { to, limit: 2 });
    expect(first.json.messages).toHaveLength(2);
    // limit left at its default (20): the token's own page size (2) applies.
    const second = await server.callTool('list_messages', { page_token: first.json.next_page_token });
    expect(second.json.messages).toHaveLength(2);
    const withFilter = await server.callTool('list_messages', { page_token: first.json.next_page_token, to: '+14155559999' });
    expect(withFilter.isError).toBe(true);
    expect(withFilter.json.error).toMatch(/to cannot be given with it/);
  });

  it('a crafted token is a clear refusal, never an internal error', async () => {
    const crafted = [
      Buffer.from('{"u":"not a url","s":0}').toString('base64url'),
      Buffer.from('{"u":"https://api.twilio.com/x","s":-1}').toString('base64url'),
      Buffer.from('[1,2,3]').toString('base64url'),
      Buffer.from('null').toString('base64url'),
      Buffer.from(JSON.stringify({ u: 'https://api.twilio.com/2010-04-01/Accounts/ACx/Messages.json', s: 0, st: 42 })).toString('base64url'),
    ];
    for (const token of crafted) {
      const result = await server.callTool('list_messages', { page_token: token });
      expect(result.isError).toBe(true);
      expect(result.text).not.toMatch(/Internal error/);
    }
  });
});

describe('encoding', () => {
  it('names the GSM-7 look-alikes that made a body UCS-2, and what they cost', async () => {
    const body = `It’s on – see you there. ${'x'.repeat(80)}`;
    const sent = await server.callTool('send_sms', { to: '+14155551120', body });
    expect(sent.json).toMatchObject({ encoding: 'UCS-2', segments: 2 });
    expect(sent.json.gsm_lookalikes).toMatchObject({ characters: ['’', '–'], segments: 2, segments_if_replaced: 1 });
    expect(sent.json.gsm_lookalikes.next_step).toMatch(/smart_encoding: true/);
    // A plain GSM-7 body has nothing to say.
    expect((await server.callTool('send_sms', { to: '+14155551121', body: 'plain text' })).json.gsm_lookalikes).toBeUndefined();
  });

  it('smart_encoding reaches Twilio: the sandbox stores and bills the replaced body', async () => {
    const body = `It’s on – see you there. ${'x'.repeat(80)}`;
    const sent = await server.callTool('send_sms', { to: '+14155551122', body, smart_encoding: true });
    expect(sent.json).toMatchObject({ encoding: 'GSM-7', segments: 1 });
    expect(sent.json.gsm_lookalikes).toBeUndefined();
    const stored = await server.callTool('get_message', { sid: sent.json.message_sid });
    expect(stored.json).toMatchObject({ num_segments: 1 });
    expect(stored.json.body).toContain("It's on - see you");
  });
});
