/**
 * The official `twilio` SDK as a client of the sandbox: what works for a user's project
 * against Twilio works against the emulator, errors included.
 */
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { sandboxTwilioClient } from './sdk-client.js';

let sandbox: SandboxHandle;
let client: ReturnType<typeof sandboxTwilioClient>;

beforeAll(async () => {
  sandbox = await startSandbox({ timing: { sendingMs: 20, sentMs: 40, deliveredMs: 80 } });
  client = sandboxTwilioClient(sandbox.baseUrl, sandbox.accountSid, sandbox.authToken);
});
afterAll(async () => {
  await sandbox?.close();
});

async function restError(promise: Promise<unknown>): Promise<{ code: number; status: number; moreInfo: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof twilio.RestException) return error as never;
    throw error;
  }
  throw new Error('expected a RestException');
}

describe('official SDK against the sandbox', () => {
  it('creates, fetches and lists across pages', async () => {
    const to = '+14155550150';
    const created = [];
    for (let i = 0; i < 5; i++) created.push(await client.messages.create({ to, from: '+15005550006', body: `m${i}` }));
    expect(created[0]!.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(created[0]!.dateCreated).toBeInstanceOf(Date);
    const fetched = await client.messages(created[0]!.sid).fetch();
    expect(fetched.body).toBe('m0');
    const listed = await client.messages.list({ to, pageSize: 2, limit: 5 });
    expect(listed.map((m) => m.body)).toEqual(['m4', 'm3', 'm2', 'm1', 'm0']);
  });

  it('schedules and cancels', async () => {
    const scheduled = await client.messages.create({
      to: '+14155550151',
      messagingServiceSid: sandbox.messagingServiceSid,
      body: 'later',
      sendAt: new Date(Date.now() + 3_600_000),
      scheduleType: 'fixed',
    });
    expect(scheduled.status).toBe('scheduled');
    expect((await client.messages(scheduled.sid).update({ status: 'canceled' })).status).toBe('canceled');
    const again = await restError(client.messages(scheduled.sid).update({ status: 'canceled' }));
    expect(again.code).toBe(30409);
  });

  it('creates MMS and WhatsApp template messages, lists media, fetches the account, removes a message', async () => {
    const mms = await client.messages.create({ to: '+14155550152', from: sandbox.testSenderNumber, body: 'pic', mediaUrl: ['https://example.com/a.jpg', 'https://example.com/b.gif'] });
    expect(mms.sid).toMatch(/^MM[0-9a-f]{32}$/);
    expect(mms.numMedia).toBe('2');
    const media = await client.messages(mms.sid).media.list();
    expect(media.map((m) => m.contentType)).toEqual(['image/jpeg', 'image/gif']);
    expect((await client.messages(mms.sid).media(media[0]!.sid).fetch()).parentSid).toBe(mms.sid);

    const template = await client.messages.create({
      to: 'whatsapp:+14155550152', from: sandbox.whatsappSenderNumber, contentSid: `HX${'c'.repeat(32)}`, contentVariables: JSON.stringify({ 1: 'Ada' }),
    });
    expect(template.status).toBe('queued');

    const account = await client.api.v2010.accounts(sandbox.accountSid).fetch();
    expect(account).toMatchObject({ sid: sandbox.accountSid, status: 'active' });

    const done = await client.messages.create({ to: '+14155550153', from: sandbox.testSenderNumber, body: 'bye' });
    await expect.poll(async () => (await client.messages(done.sid).fetch()).status, { timeout: 5000, interval: 20 }).toBe('delivered');
    expect(await client.messages(done.sid).remove()).toBe(true);
    expect((await restError(client.messages(done.sid).fetch())).status).toBe(404);
  });

  it('redacts a finished message and filters by date sent', async () => {
    const sent = await client.messages.create({ to: '+14155550154', from: sandbox.testSenderNumber, body: 'private' });
    // Twilio redacts only a finished message: wait for the lifecycle to end, not for a fixed time.
    await expect.poll(async () => (await client.messages(sent.sid).fetch()).status, { timeout: 5000, interval: 20 }).toBe('delivered');
    expect((await client.messages(sent.sid).update({ body: '' })).body).toBe('');
    const yesterday = new Date(Date.now() - 86_400_000);
    const listed = await client.messages.list({ to: '+14155550154', dateSentAfter: yesterday, limit: 10 });
    expect(listed.map((m) => m.sid)).toEqual([sent.sid]);
    expect(await client.messages.list({ to: '+14155550154', dateSentBefore: yesterday, limit: 10 })).toEqual([]);
  });

  it('SmartEncoded=true replaces GSM-7 look-alikes before counting segments and price', async () => {
    // 100 characters: one curly apostrophe makes it UCS-2 (70 per segment) → 2 segments.
    const body = `It\u2019s ${'a'.repeat(95)}`;
    expect([...body]).toHaveLength(100);
    const plain = await client.messages.create({ to: '+14155550156', from: sandbox.testSenderNumber, body });
    expect(plain).toMatchObject({ numSegments: '2', body });
    const smart = await client.messages.create({ to: '+14155550156', from: sandbox.testSenderNumber, body, smartEncoded: true });
    expect(smart).toMatchObject({ numSegments: '1', body: `It's ${'a'.repeat(95)}` });
    const mixed = await client.messages.create({
      to: '+14155550156', from: sandbox.testSenderNumber, smartEncoded: true, body: '\u201cHi\u201d \u2013 wait\u2026 ok \u2014 done',
    });
    expect(mixed.body).toBe('"Hi" - wait... ok - done');
    // The non-breaking space becomes plain space (sms-segments-calculator's table, Twilio's list).
    const nbsp = await client.messages.create({ to: '+14155550156', from: sandbox.testSenderNumber, smartEncoded: true, body: `a\u00a0b${'c'.repeat(90)}` });
    expect(nbsp.body).toMatch(/^a +bc+$/);
    expect(nbsp.numSegments).toBe('1');
    // The price is set once the message is sent: wait for it, not for a fixed time.
    await expect.poll(async () => (await client.messages(smart.sid).fetch()).price, { timeout: 5000, interval: 20 }).not.toBeNull();
    await expect.poll(async () => (await client.messages(plain.sid).fetch()).price, { timeout: 5000, interval: 20 }).not.toBeNull();
    expect((await client.messages(plain.sid).fetch()).price).toBe('-0.01580');
    expect((await client.messages(smart.sid).fetch()).price).toBe('-0.00790');
    // False (or absent) leaves the body alone.
    expect((await client.messages.create({ to: '+14155550156', from: sandbox.testSenderNumber, body, smartEncoded: false })).body).toBe(body);
  });

  it('raises the validation codes as RestException', async () => {
    expect((await restError(client.messages.create({ to: '+14155550155', from: sandbox.testSenderNumber, body: 'x'.repeat(1601) }))).code).toBe(21617);
    expect((await restError(client.messages.create({ to: '+14155550155', from: '+14155559999', body: 'x' }))).code).toBe(21606);
    const tooSoon = client.messages.create({
      to: '+14155550155', messagingServiceSid: sandbox.messagingServiceSid, body: 'x', sendAt: new Date(Date.now() + 60_000), scheduleType: 'fixed',
    });
    expect((await restError(tooSoon)).code).toBe(35114);
  });

  const magic: Array<[string, string, number]> = [
    ['+15005550006', '+15005550001', 21211],
    ['+15005550006', '+15005550002', 21612],
    ['+15005550006', '+15005550003', 21408],
    ['+15005550006', '+15005550004', 21610],
    ['+15005550006', '+15005550009', 21614],
    ['+15005550001', '+14155550100', 21212],
    ['+15005550007', '+14155550100', 21606],
    ['+15005550008', '+14155550100', 21611],
  ];
  for (const [from, to, code] of magic) {
    it(`From ${from} To ${to} raises RestException ${code}`, async () => {
      const error = await restError(client.messages.create({ from, to, body: 'magic' }));
      expect(error).toMatchObject({ code, status: 400, moreInfo: `https://www.twilio.com/docs/errors/${code}` });
    });
  }

  it('raises 20003 for a wrong auth token and 20404 for an unknown SID', async () => {
    const wrong = sandboxTwilioClient(sandbox.baseUrl, sandbox.accountSid, 'f'.repeat(32));
    expect((await restError(wrong.messages.list({ limit: 1 }))).code).toBe(20003);
    expect((await restError(client.messages(`SM${'0'.repeat(32)}`).fetch())).code).toBe(20404);
  });
});
