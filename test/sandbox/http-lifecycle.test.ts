/**
 * Over real HTTP with the default timing: a message is delivered within a few seconds;
 * paging stays stable while new messages arrive; filters read raw '+' in queries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { client, eventually } from './http.js';

let sandbox: SandboxHandle;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  sandbox = await startSandbox();
  api = client(sandbox);
});
afterAll(async () => {
  await sandbox?.close();
});

describe('default timing', () => {
  it('delivers within a few seconds, with price and date_sent set once sent', async () => {
    const started = Date.now();
    const { json: created } = await api.send({ To: '+14155550500', From: '+15005550006', Body: 'a'.repeat(200) });
    expect(created).toMatchObject({ status: 'queued', price: null, date_sent: null, num_segments: '2', error_code: null });
    const delivered = await eventually(async () => {
      const { json } = await api.call('GET', api.messagePath(created.sid));
      return json.status === 'delivered' ? json : undefined;
    }, 4000, 50);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(delivered).toMatchObject({ price: '-0.01580', price_unit: 'USD', num_segments: '2' });
    expect(delivered.date_sent).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
  });
});

describe('paging', () => {
  it('a next_page_uri keeps pointing at the same messages when new ones arrive', async () => {
    const to = '+14155550501';
    for (let i = 0; i < 5; i++) await api.send({ To: to, From: '+15005550006', Body: `m${i}` });
    const first = await api.call('GET', `${api.messagesPath}?To=${to}&PageSize=2`); // raw '+', as some clients send it
    expect(first.json.messages.map((m: { body: string }) => m.body)).toEqual(['m4', 'm3']);
    expect(first.json).toMatchObject({ page: 0, page_size: 2, start: 0, end: 1, previous_page_uri: null });
    await api.send({ To: to, From: '+15005550006', Body: 'm5' });
    const second = await api.call('GET', first.json.next_page_uri);
    expect(second.json.messages.map((m: { body: string }) => m.body)).toEqual(['m2', 'm1']);
    expect(second.json).toMatchObject({ page: 1, page_size: 2 });
    expect(second.json.previous_page_uri).toMatch(/Page=0/);
    const third = await api.call('GET', second.json.next_page_uri);
    expect(third.json.messages.map((m: { body: string }) => m.body)).toEqual(['m0']);
    expect(third.json.next_page_uri).toBeNull();
  });

  it('Page without a token counts from the newest; PageSize 1000 is the maximum', async () => {
    const to = '+14155550502';
    for (let i = 0; i < 3; i++) await api.send({ To: to, From: '+15005550006', Body: `p${i}` });
    const page1 = await api.call('GET', `${api.messagesPath}?To=%2B14155550502&PageSize=2&Page=1`);
    expect(page1.json.messages.map((m: { body: string }) => m.body)).toEqual(['p0']);
    expect(page1.json).toMatchObject({ start: 2, end: 2 });
    const big = await api.call('GET', `${api.messagesPath}?PageSize=1000`);
    expect(big.status).toBe(200);
    expect(big.json.page_size).toBe(1000);
  });

  it('filters by From, including a WhatsApp sender', async () => {
    await api.send({ To: 'whatsapp:+14155550503', From: 'whatsapp:+15005550006', Body: 'wa' });
    const list = await api.call('GET', `${api.messagesPath}?From=${encodeURIComponent('whatsapp:+15005550006')}`);
    expect(list.json.messages.length).toBeGreaterThanOrEqual(1);
    expect(list.json.messages.every((m: { from: string }) => m.from === 'whatsapp:+15005550006')).toBe(true);
  });
});
