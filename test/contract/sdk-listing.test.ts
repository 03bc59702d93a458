/**
 * Listing messages with the official SDK, as Twilio pages and filters them: page tokens
 * name the last SID of the page (`PA`, "after") and the first (`PB`, "before"); walking
 * forward and back neither skips nor repeats while new messages arrive; `dateSent: Date`
 * (a full timestamp on the wire) means that UTC day.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { client as rawClient, eventually } from '../sandbox/http.js';
import { createValidator, loadSpec } from './openapi.js';
import { sandboxTwilioClient } from './sdk-client.js';

const validator = createValidator(loadSpec('twilio_api_v2010.json'));
const MESSAGES = '/2010-04-01/Accounts/{AccountSid}/Messages.json';

let sandbox: SandboxHandle;
let client: ReturnType<typeof sandboxTwilioClient>;
let api: ReturnType<typeof rawClient>;

beforeAll(async () => {
  sandbox = await startSandbox({ timing: { sendingMs: 5, sentMs: 10, deliveredMs: 15 } });
  client = sandboxTwilioClient(sandbox.baseUrl, sandbox.accountSid, sandbox.authToken);
  api = rawClient(sandbox);
});
afterAll(async () => {
  await sandbox?.close();
});

async function sendMany(to: string, count: number, label: string): Promise<string[]> {
  const sids: string[] = [];
  for (let i = 0; i < count; i++) sids.push((await client.messages.create({ to, from: sandbox.testSenderNumber, body: `${label}${i}` })).sid);
  return sids;
}
const tokenOf = (uri: string | null) => (uri ? new URLSearchParams(uri.split('?')[1]).get('PageToken') : null);

describe('page tokens', () => {
  it('next carries PA + the last SID of the page, previous PB + the first; both are honoured', async () => {
    const to = '+14155550601';
    const sids = (await sendMany(to, 5, 't')).reverse(); // newest first, as listed
    const first = await api.call('GET', `${api.messagesPath}?To=${encodeURIComponent(to)}&PageSize=2`);
    expect(first.json.messages.map((m: { sid: string }) => m.sid)).toEqual(sids.slice(0, 2));
    expect(tokenOf(first.json.next_page_uri)).toBe(`PA${sids[1]}`);
    expect(first.json.previous_page_uri).toBeNull();

    const second = await api.call('GET', first.json.next_page_uri);
    expect(validator.response(MESSAGES, 'get', '200', second.json)).toEqual([]);
    expect(second.json.messages.map((m: { sid: string }) => m.sid)).toEqual(sids.slice(2, 4));
    expect(second.json).toMatchObject({ page: 1, start: 2, end: 3 });
    expect(tokenOf(second.json.next_page_uri)).toBe(`PA${sids[3]}`);
    expect(tokenOf(second.json.previous_page_uri)).toBe(`PB${sids[2]}`);
    expect(second.json.uri).toContain(`PageToken=PA${sids[1]}`);

    const back = await api.call('GET', second.json.previous_page_uri);
    expect(back.json.messages.map((m: { sid: string }) => m.sid)).toEqual(sids.slice(0, 2));
    expect(back.json.page).toBe(0);

    const last = await api.call('GET', second.json.next_page_uri);
    expect(last.json.messages.map((m: { sid: string }) => m.sid)).toEqual(sids.slice(4));
    expect(last.json.next_page_uri).toBeNull();
  });

  it('a token that names no message is a 400 saying how to page', async () => {
    const bad = await api.call('GET', `${api.messagesPath}?PageSize=2&Page=1&PageToken=PA${'SM'}${'0'.repeat(32)}`);
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ code: 20001, message: expect.stringContaining('next_page_uri') });
    expect((await api.call('GET', `${api.messagesPath}?PageToken=garbage`)).status).toBe(400);
  });

  it('a token still places a page after the message it names was deleted', async () => {
    const to = '+14155550602';
    const sids = (await sendMany(to, 4, 'd')).reverse();
    const first = await api.call('GET', `${api.messagesPath}?To=${encodeURIComponent(to)}&PageSize=2`);
    await eventually(async () => ((await client.messages(sids[1]!).fetch()).status === 'delivered' ? true : undefined));
    await client.messages(sids[1]!).remove();
    const second = await api.call('GET', first.json.next_page_uri);
    expect(second.json.messages.map((m: { sid: string }) => m.sid)).toEqual(sids.slice(2, 4));
  });
});

describe('walking with the SDK', () => {
  it('list({limit}) crosses pages without gaps or repeats', async () => {
    const to = '+14155550603';
    const sids = (await sendMany(to, 7, 'l')).reverse();
    const listed = await client.messages.list({ to, pageSize: 3, limit: 7 });
    expect(listed.map((m) => m.sid)).toEqual(sids);
  });

  it('page() → nextPage() → previousPage() walks forward and back while new messages arrive', async () => {
    const to = '+14155550604';
    const sids = (await sendMany(to, 6, 'w')).reverse();
    const page0 = await client.messages.page({ to, pageSize: 2 });
    expect(page0.instances.map((m) => m.sid)).toEqual(sids.slice(0, 2));
    const arrived = await sendMany(to, 3, 'new'); // newer than everything above: at the head
    const page1 = (await page0.nextPage())!;
    expect(page1.instances.map((m) => m.sid)).toEqual(sids.slice(2, 4));
    await sendMany(to, 1, 'newer');
    const page2 = (await page1.nextPage())!;
    expect(page2.instances.map((m) => m.sid)).toEqual(sids.slice(4, 6));
    expect(await page2.nextPage()).toBeUndefined();

    const back1 = (await page2.previousPage())!;
    expect(back1.instances.map((m) => m.sid)).toEqual(sids.slice(2, 4));
    const back0 = (await back1.previousPage())!;
    expect(back0.instances.map((m) => m.sid)).toEqual(sids.slice(0, 2));
    expect(await back0.previousPage()).toBeUndefined();
    // The messages that arrived meanwhile are on a fresh first page.
    const fresh = await client.messages.list({ to, pageSize: 2, limit: 4 });
    expect(fresh.map((m) => m.body)).toEqual(['newer0', ...arrived.map((_, i) => `new${arrived.length - 1 - i}`)]);
  });
});

describe('DateSent', () => {
  it('list({dateSent: new Date()}) returns the messages sent today (Twilio compares the date part)', async () => {
    const to = '+14155550605';
    const sids = await sendMany(to, 3, 'today');
    await eventually(async () => {
      const all = await client.messages.list({ to, limit: 10 });
      return all.every((m) => m.dateSent !== null) ? true : undefined;
    });
    // Any time of the day stands for the day: noon, and the last second of it.
    const now = new Date();
    const noon = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 12));
    const lastSecond = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 23, 59, 59));
    for (const dateSent of [now, noon, lastSecond]) {
      const listed = await client.messages.list({ to, dateSent, limit: 10 });
      expect(listed.map((m) => m.sid).sort()).toEqual([...sids].sort());
    }
    const yesterday = new Date(Date.now() - 86_400_000);
    const tomorrow = new Date(Date.now() + 86_400_000);
    expect(await client.messages.list({ to, dateSent: yesterday, limit: 10 })).toEqual([]);
    expect(await client.messages.list({ to, dateSent: tomorrow, limit: 10 })).toEqual([]);
  });

  it('DateSent< and DateSent> keep their meaning: a time is exact, a day includes that day', async () => {
    const to = '+14155550606';
    const [sid] = await sendMany(to, 1, 'range');
    const sent = await eventually(async () => (await client.messages(sid!).fetch()).dateSent ?? undefined);
    const at = (ms: number) => new Date(sent.getTime() + ms);
    expect((await client.messages.list({ to, dateSentAfter: at(-2000), limit: 5 })).map((m) => m.sid)).toEqual([sid]);
    expect(await client.messages.list({ to, dateSentAfter: at(2000), limit: 5 })).toEqual([]);
    expect((await client.messages.list({ to, dateSentBefore: at(2000), limit: 5 })).map((m) => m.sid)).toEqual([sid]);
    expect(await client.messages.list({ to, dateSentBefore: at(-2000), limit: 5 })).toEqual([]);
    const today = new Date().toISOString().slice(0, 10);
    const before = await api.call('GET', `${api.messagesPath}?To=${encodeURIComponent(to)}&${encodeURIComponent('DateSent<')}=${today}`);
    expect(before.json.messages.map((m: { sid: string }) => m.sid)).toEqual([sid]);
  });
});
