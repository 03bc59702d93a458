/**
 * InboxService in-process, on a real in-memory SQLite store and the real EventHub:
 * wait_for_reply consumes the reply (read: true, in the result and in the store) and says
 * when it was STOP/START; opt-out scope, sender filters and re-consent; reasons are
 * redacted before they reach the store.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TwilioGateway } from '../../src/gateway/twilio-gateway.js';
import { EventHub } from '../../src/services/events.js';
import { InboxService } from '../../src/services/inbox.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import type { InboundMessage, OptOutChange, Store } from '../../src/store/store.js';
import { registerSecret } from '../../src/util/log.js';

const OUR_NUMBER = '+15005550006';
const PERSON = '+14155550142';
const SERVICE = `MG${'a'.repeat(32)}`;

let store: Store;
let events: EventHub;
let inbox: InboxService;
let counter = 0;

beforeEach(() => {
  store = openSqliteStore(':memory:');
  events = new EventHub();
  // Only getDeliveryStatus talks to Twilio; nothing here may.
  const gateway = new Proxy({}, { get: () => () => Promise.reject(new Error('the gateway must not be called')) }) as TwilioGateway;
  inbox = new InboxService(() => Promise.resolve(store), events, gateway);
});
afterEach(() => store.close());

/** Stores an inbound message as the webhook receiver would (with its opt-out effects), then announces it. */
async function receive(body: string, options: { keyword?: string; optOuts?: OptOutChange['action']; from?: string; at?: Date } = {}): Promise<InboundMessage> {
  const from = options.from ?? PERSON;
  const message: Omit<InboundMessage, 'readAt'> = {
    messageSid: `SM${(++counter).toString(16).padStart(32, '0')}`,
    from,
    to: OUR_NUMBER,
    body,
    media: [],
    messagingServiceSid: null,
    channel: 'sms',
    profileName: null,
    keyword: options.keyword ?? null,
    receivedAt: options.at ?? new Date(),
  };
  const optOuts: OptOutChange[] = options.optOuts
    ? [{ action: options.optOuts, sender: OUR_NUMBER, recipient: from, source: 'keyword', keyword: options.keyword }]
    : [];
  await store.ingestBatch([
    {
      event: { kind: 'inbound_message', sid: message.messageSid, status: 'received', idempotencyToken: null, receivedAt: message.receivedAt, params: {} },
      change: { kind: 'inbound_message', message, optOuts },
    },
  ]);
  events.publish({ kind: 'inbound_message', messageSid: message.messageSid, from, to: OUR_NUMBER });
  return { ...message, readAt: null };
}

describe('wait_for_reply', () => {
  it('returns a reply that already arrived as read, and the store agrees', async () => {
    const sent = await receive('Yes, 10:30 works');
    const result = await inbox.waitForReply({ from: PERSON, timeout_seconds: 1 });
    expect(result).toMatchObject({ status: 'replied', message: { message_sid: sent.messageSid, read: true, trust: 'untrusted-third-party' } });
    expect(await store.listInbound({ unreadOnly: true, limit: 10 })).toHaveLength(0);
    expect(result).not.toHaveProperty('consent');
  });

  it('returns a reply that arrives while waiting as read', async () => {
    let sent: InboundMessage | undefined;
    // The first progress report says the wait began: the reply lands exactly then (while
    // the client's progress notification would still be in flight).
    const progress = async (done: number) => {
      if (done === 0) sent = await receive('On my way');
    };
    const result = await inbox.waitForReply({ from: PERSON, timeout_seconds: 10 }, { progress });
    expect(result).toMatchObject({ status: 'replied', message: { message_sid: sent?.messageSid, read: true } });
    expect(await store.listInbound({ unreadOnly: true, limit: 10 })).toHaveLength(0);
  });

  it('ignores replies from other numbers and times out', async () => {
    const progress = async (done: number) => {
      if (done === 0) await receive('wrong person', { from: '+14155550199' });
    };
    expect(await inbox.waitForReply({ from: PERSON, timeout_seconds: 1 }, { progress })).toMatchObject({ status: 'timeout' });
  });

  it('says in plain words that a STOP reply opted the person out', async () => {
    await receive('stop', { keyword: 'STOP', optOuts: 'add' });
    const result = await inbox.waitForReply({ from: PERSON, timeout_seconds: 1 });
    expect(result).toMatchObject({ status: 'replied', consent: 'opted_out' });
    expect('next_step' in result && result.next_step).toMatch(/replied STOP: they are now opted out/);
  });

  it('says a START reply opted the person back in', async () => {
    await receive('START', { keyword: 'START', optOuts: 'remove' });
    const result = await inbox.waitForReply({ from: PERSON, timeout_seconds: 1 });
    expect(result).toMatchObject({ consent: 'opted_in' });
    expect('next_step' in result && result.next_step).toMatch(/opted back in/);
  });

  it('takes a custom keyword (Advanced Opt-Out) as an opt-out only when the opt-out list says so', async () => {
    await receive('ARRET', { keyword: 'ARRET', optOuts: 'add' });
    expect(await inbox.waitForReply({ from: PERSON, timeout_seconds: 1 })).toMatchObject({ consent: 'opted_out' });
    await receive('AIDE', { keyword: 'AIDE', from: '+14155550143' });
    expect(await inbox.waitForReply({ from: '+14155550143', timeout_seconds: 1 })).not.toHaveProperty('consent');
  });

  it('says nothing about consent for HELP', async () => {
    await receive('help', { keyword: 'HELP' });
    expect(await inbox.waitForReply({ from: PERSON, timeout_seconds: 1 })).not.toHaveProperty('consent');
  });
});

describe('wait_for_reply against an asynchronous store', () => {
  it('a reply stored and announced while the first look is still reading is not missed', async () => {
    // The first read answers "nothing yet", but only after the reply has been stored and its
    // event published: a wait that subscribed only after that look would hear nothing.
    let arrived: InboundMessage | undefined;
    const slow: Store = {
      ...store,
      findUnreadFrom: async (from, after) => {
        const found = await store.findUnreadFrom(from, after);
        if (!arrived) arrived = await receive('Just landed');
        return found;
      },
    };
    const gateway = new Proxy({}, { get: () => () => Promise.reject(new Error('the gateway must not be called')) }) as TwilioGateway;
    const result = await new InboxService(async () => slow, events, gateway).waitForReply({ from: PERSON, timeout_seconds: 3 });
    expect(result).toMatchObject({ status: 'replied', message: { message_sid: arrived?.messageSid, read: true } });
  });

  it('two waits for the same person never both take one reply', async () => {
    const sent = await receive('Only one of you gets this');
    const results = await Promise.all([inbox.waitForReply({ from: PERSON, timeout_seconds: 1 }), inbox.waitForReply({ from: PERSON, timeout_seconds: 1 })]);
    expect(results.map((r) => r.status).sort()).toEqual(['replied', 'timeout']);
    expect(results.find((r) => r.status === 'replied')).toMatchObject({ message: { message_sid: sent.messageSid } });
  });
});

describe('opt-outs', () => {
  it('with no sender, covers every sender (stored as "*")', async () => {
    const result = await inbox.addOptOut({ recipient: PERSON });
    expect(result).toMatchObject({ sender: 'all senders', opted_out: true, changed: true });
    expect((await store.isOptedOut([SERVICE], PERSON))?.sender).toBe('*');
    expect((await store.isOptedOut([OUR_NUMBER], PERSON))?.sender).toBe('*');
  });

  it('a sender filter lists that sender’s opt-outs and the account-wide ones, not other senders’', async () => {
    await inbox.addOptOut({ recipient: PERSON, sender: OUR_NUMBER });
    await inbox.addOptOut({ recipient: '+14155550143' });
    await inbox.addOptOut({ recipient: '+14155550144', sender: SERVICE });
    const listed = await inbox.listOptOuts({ sender: OUR_NUMBER });
    expect(listed.opt_outs.map((o) => [o.recipient, o.sender]).sort()).toEqual([
      ['+14155550142', OUR_NUMBER],
      ['+14155550143', 'all senders'],
    ]);
  });

  it('removing one sender’s opt-out reports the account-wide one still in force', async () => {
    await inbox.addOptOut({ recipient: PERSON, sender: OUR_NUMBER });
    await inbox.addOptOut({ recipient: PERSON });
    const result = await inbox.removeOptOut({ recipient: PERSON, sender: OUR_NUMBER, reason: 'Ada re-subscribed by phone on 2026-11-30' });
    expect(result).toMatchObject({ removed: 1, still_opted_out: true });
    const all = await inbox.removeOptOut({ recipient: PERSON, reason: 'Ada re-subscribed by phone on 2026-11-30' });
    expect(all).toMatchObject({ removed: 1, still_opted_out: false });
    expect(await store.isOptedOut([OUR_NUMBER], PERSON)).toBeUndefined();
  });

  it('refuses to remove an opt-out for a sender that has none, naming the ones that exist', async () => {
    await inbox.addOptOut({ recipient: PERSON });
    await expect(inbox.removeOptOut({ recipient: PERSON, sender: SERVICE, reason: 'Ada re-subscribed by phone' })).rejects.toMatchObject({
      message: expect.stringContaining(`for ${SERVICE}`),
      nextStep: expect.stringContaining('all senders'),
    });
    expect(await store.isOptedOut([OUR_NUMBER], PERSON)).toBeDefined();
  });

  it('redacts registered secrets from reasons before they reach the store', async () => {
    const secret = 'sk_live_0123456789abcdef';
    registerSecret(secret);
    await inbox.addOptOut({ recipient: PERSON, reason: `asked by email, token ${secret}` });
    const removed = await inbox.removeOptOut({ recipient: PERSON, reason: `re-consented on the phone, ref ${secret}` });
    expect(removed.reason_recorded).toBe('re-consented on the phone, ref [REDACTED]');
    const audit = await store.listOptOutAudit({ recipient: PERSON, limit: 10 });
    expect(audit.map((a) => a.reason)).toEqual(['re-consented on the phone, ref [REDACTED]', 'asked by email, token [REDACTED]']);
  });
});
