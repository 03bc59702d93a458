/**
 * The webhook group commit against a store whose commit awaits (as a networked database's
 * does): one batch is written at a time, webhooks arriving meanwhile share the next one, a
 * request is answered only after its own batch committed, and the receiver tells listeners
 * about an event only after that commit.
 */
import { describe, expect, it } from 'vitest';
import { EventHub, type TwilioEvent } from '../../src/services/events.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import type { Ingest, IngestResult, Store, WebhookEvent } from '../../src/store/store.js';
import { startWebhookListener } from '../../src/transports/webhook-listener.js';
import { IngestQueue } from '../../src/webhooks/ingest-queue.js';
import { createWebhookReceiver } from '../../src/webhooks/receiver.js';

const SID = (n: number) => `SM${String(n).padStart(32, '0')}`;
const status = (n: number): { event: WebhookEvent; change: Ingest } => {
  const at = new Date();
  return {
    event: { kind: 'message_status', sid: SID(n), status: 'delivered', idempotencyToken: null, receivedAt: at, params: {} },
    change: { kind: 'message_status', sid: SID(n), status: 'delivered', errorCode: null, at },
  };
};

/** The SID an event is about; resync and activity carry none, so their kind stands in (and shows in a mismatch). */
const sidOf = (e: TwilioEvent) => (e.kind === 'inbound_message' ? e.messageSid : e.kind === 'message_status' || e.kind === 'call_status' ? e.sid : e.kind);

/** A store whose commits take a few event-loop turns and can be released by hand. */
function slowStore() {
  const inner = openSqliteStore(':memory:');
  const batches: number[] = [];
  let writing = 0;
  let mostAtOnce = 0;
  const committed = new Set<string>();
  const store: Store = {
    ...inner,
    ingestBatch: async (items) => {
      writing += 1;
      mostAtOnce = Math.max(mostAtOnce, writing);
      batches.push(items.length);
      try {
        for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
        const results = await inner.ingestBatch(items);
        for (const item of items) committed.add(item.event.sid);
        return results;
      } finally {
        writing -= 1;
      }
    },
  };
  return { store, batches, committed, mostAtOnce: () => mostAtOnce };
}

describe('IngestQueue on an asynchronous store', () => {
  it('writes one batch at a time; what arrives during a write waits for the next batch', async () => {
    const slow = slowStore();
    const queue = new IngestQueue(async () => slow.store);
    const first = Array.from({ length: 5 }, (_, i) => queue.enqueue(status(i).event, status(i).change));
    // The first batch is being written (its commit awaits): these five arrive meanwhile.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    const second = Array.from({ length: 5 }, (_, i) => queue.enqueue(status(10 + i).event, status(10 + i).change));
    const answered: string[] = [];
    // Each request is answered only once its own batch has committed.
    const check = (p: Promise<IngestResult>, n: number) => p.then((r) => (expect(slow.committed.has(SID(n))).toBe(true), answered.push(SID(n)), r));
    await Promise.all([...first.map((p, i) => check(p, i)), ...second.map((p, i) => check(p, 10 + i))]);
    expect(slow.batches).toEqual([5, 5]);
    expect(slow.mostAtOnce()).toBe(1);
    expect(answered).toHaveLength(10);
  });

  it('a batch the store refuses is retried item by item, so one bad webhook fails alone', async () => {
    const inner = openSqliteStore(':memory:');
    const store: Store = {
      ...inner,
      ingestBatch: async (items) => {
        if (items.some((item) => item.event.sid === SID(2))) throw new Error('refused');
        return inner.ingestBatch(items);
      },
    };
    const queue = new IngestQueue(async () => store);
    const results = await Promise.allSettled([0, 1, 2, 3].map((n) => queue.enqueue(status(n).event, status(n).change)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((await inner.getMessageStatus(SID(3)))?.current).toBe('delivered');
  });
});

describe('the receiver on an asynchronous store', () => {
  it('publishes an event only after its commit', async () => {
    const slow = slowStore();
    const hub = new EventHub();
    const seen: Array<{ sid: string; committed: boolean }> = [];
    hub.subscribe((e) => void seen.push({ sid: sidOf(e), committed: slow.committed.has(sidOf(e)) }));
    const receiver = createWebhookReceiver({ publicBaseUrl: () => undefined, authTokens: async () => [], verifySignatures: false, store: async () => slow.store, events: hub });
    const listener = await startWebhookListener(receiver.handle, '127.0.0.1', 0);
    try {
      const post = (n: number) =>
        fetch(`${listener.url}/webhooks/twilio/messages/status`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ MessageSid: SID(n), MessageStatus: 'delivered' }).toString(),
        }).then((r) => r.status);
      expect(await Promise.all([1, 2, 3].map(post))).toEqual([204, 204, 204]);
      expect(seen.map((e) => e.sid).sort()).toEqual([SID(1), SID(2), SID(3)]);
      expect(seen.every((e) => e.committed)).toBe(true);
    } finally {
      await listener.close();
    }
  });
});
