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
