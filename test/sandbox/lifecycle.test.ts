/**
 * The message lifecycle on the store itself, under fake timers so scheduling (minutes to
 * weeks ahead) runs in no time: status order, callbacks, the delivery-failure rule, prices,
 * accepted → queued via a service, SendAt release, cancel, and close().
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAccount } from '../../src/sandbox/account.js';
import { SANDBOX_ACCOUNT_SID, TEST_SENDER } from '../../src/sandbox/constants.js';
import { DEFAULT_TIMING, finalOutcome, normalizeTiming, priceFor } from '../../src/sandbox/lifecycle.js';
import { MessageStore } from '../../src/sandbox/messages.js';
import { parseParams } from '../../src/sandbox/wire.js';

const timing = { sendingMs: 100, sentMs: 400, deliveredMs: 1500 };
let posted: Array<{ url: string; params: Record<string, string> }>;
let account: ReturnType<typeof createAccount>;
let store: MessageStore;

const form = (fields: Record<string, string>) => parseParams(new URLSearchParams(fields).toString());
const statusesAt = (url: string) => posted.filter((p) => p.url === url).map((p) => p.params.MessageStatus);

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2025-03-10T12:00:00Z') });
  posted = [];
  account = createAccount(SANDBOX_ACCOUNT_SID, 'token', TEST_SENDER);
  store = new MessageStore(account, timing, { post: async (url, params) => void posted.push({ url, params }) });
});
afterEach(() => {
  store.close();
  vi.useRealTimers();
});

describe('lifecycle', () => {
  it('queued → sending → sent → delivered at the configured times, no callback for the initial status nor for sending', () => {
    const m = store.create(form({ To: '+14155550100', From: TEST_SENDER, Body: 'hi', StatusCallback: 'https://cb.test/s' }));
    expect(m.status).toBe('queued');
    expect(posted).toEqual([]);
    vi.advanceTimersByTime(99);
    expect(m.status).toBe('queued');
    vi.advanceTimersByTime(1);
    expect(m.status).toBe('sending');
    vi.advanceTimersByTime(300);
    expect(m).toMatchObject({ status: 'sent', price: '-0.00790' });
    expect(m.dateSent?.toISOString()).toBe('2025-03-10T12:00:00.400Z');
    vi.advanceTimersByTime(1100);
    expect(m).toMatchObject({ status: 'delivered', errorCode: null, errorMessage: null });
    expect(statusesAt('https://cb.test/s')).toEqual(['sent', 'delivered']);
    const last = posted.at(-1)!.params;
    expect(last).toMatchObject({ MessageSid: m.sid, SmsSid: m.sid, SmsStatus: 'delivered', AccountSid: SANDBOX_ACCOUNT_SID, From: TEST_SENDER, To: '+14155550100', ApiVersion: '2010-04-01', RawDlrDoneDate: '2503101200' });
    expect(last).not.toHaveProperty('MessagingServiceSid');
    expect(last).not.toHaveProperty('ErrorCode');
  });

  it('via a Messaging Service: accepted with from null, then queued with the sender (callback), then on', () => {
    const m = store.create(form({ To: '+14155550100', MessagingServiceSid: account.messagingServiceSid, Body: 'hi', StatusCallback: 'https://cb.test/mg' }));
    expect(m).toMatchObject({ status: 'accepted', from: null });
    vi.advanceTimersByTime(50);
    expect(m).toMatchObject({ status: 'queued', from: TEST_SENDER });
    vi.advanceTimersByTime(2000);
    expect(statusesAt('https://cb.test/mg')).toEqual(['queued', 'sent', 'delivered']);
    expect(posted.every((p) => p.params.MessagingServiceSid === account.messagingServiceSid)).toBe(true);
  });

  const failures: Array<[string, string, number, string]> = [
    ['+14155553003', 'undelivered', 30003, 'Unreachable destination handset'],
    ['+14155553005', 'undelivered', 30005, 'Unknown destination handset'],
    ['+14155553006', 'undelivered', 30006, 'Landline or unreachable carrier'],
    ['+14155553007', 'undelivered', 30007, 'Message filtered'],
    ['+14155553008', 'failed', 30008, 'Unknown error'],
  ];
  for (const [to, status, code, message] of failures) {
    it(`the failure rule: ${to} ends ${status} with ${code}`, () => {
      const m = store.create(form({ To: to, From: TEST_SENDER, Body: 'x', StatusCallback: `https://cb.test/${code}` }));
      vi.advanceTimersByTime(2000);
      expect(m).toMatchObject({ status, errorCode: code, errorMessage: message });
      const callbacks = posted.filter((p) => p.url === `https://cb.test/${code}`);
      expect(callbacks.at(-1)!.params).toMatchObject({ MessageStatus: status, ErrorCode: String(code) });
      if (status === 'failed') {
        expect(callbacks.map((c) => c.params.MessageStatus)).toEqual(['failed']);
        expect(m).toMatchObject({ price: null, dateSent: null });
        expect(callbacks.at(-1)!.params).not.toHaveProperty('RawDlrDoneDate');
      } else {
        expect(callbacks.map((c) => c.params.MessageStatus)).toEqual(['sent', 'undelivered']);
        expect(callbacks.at(-1)!.params.RawDlrDoneDate).toMatch(/^\d{10}$/);
      }
    });
  }

  it('the failure rule reads the last four digits only, and WhatsApp numbers too', () => {
    expect(finalOutcome('whatsapp:+447700903007').status).toBe('undelivered');
    expect(finalOutcome('+14155530030').status).toBe('delivered');
    expect(finalOutcome('+14155550100').status).toBe('delivered');
  });

  it('scheduled: nothing happens until SendAt, then queued (callback) → … → delivered', () => {
    const sendAt = new Date(Date.now() + 20 * 60_000);
    const m = store.create(form({
      To: '+14155550100', MessagingServiceSid: account.messagingServiceSid, Body: 'later',
      SendAt: sendAt.toISOString(), ScheduleType: 'fixed', StatusCallback: 'https://cb.test/sched',
    }));
    expect(m).toMatchObject({ status: 'scheduled', from: null });
    vi.advanceTimersByTime(20 * 60_000 - 1);
    expect(m.status).toBe('scheduled');
    expect(posted).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(m).toMatchObject({ status: 'queued', from: TEST_SENDER });
    vi.advanceTimersByTime(2000);
    expect(statusesAt('https://cb.test/sched')).toEqual(['queued', 'sent', 'delivered']);
  });

  it('scheduled 35 days ahead waits past the ~24.8-day timer ceiling and is released on time', () => {
    const ahead = 35 * 24 * 3600_000 - 60_000;
    const m = store.create(form({ To: '+14155550100', MessagingServiceSid: account.messagingServiceSid, Body: 'far', SendAt: new Date(Date.now() + ahead).toISOString(), ScheduleType: 'fixed' }));
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(m.status).toBe('scheduled');
    vi.advanceTimersByTime(ahead - (2 ** 31 - 1) - 1);
    expect(m.status).toBe('scheduled');
    vi.advanceTimersByTime(1);
    expect(m.status).toBe('queued');
  });

  it('canceling a scheduled message stops it for good, with a canceled callback', () => {
    const m = store.create(form({
      To: '+14155550100', MessagingServiceSid: account.messagingServiceSid, Body: 'later',
      SendAt: new Date(Date.now() + 3600_000).toISOString(), ScheduleType: 'fixed', StatusCallback: 'https://cb.test/cancel',
    }));
    store.update(m.sid, form({ Status: 'canceled' }));
    vi.advanceTimersByTime(2 * 3600_000);
    expect(m.status).toBe('canceled');
    expect(statusesAt('https://cb.test/cancel')).toEqual(['canceled']);
  });

  it('close() stops every timer and callback', () => {
    const m = store.create(form({ To: '+14155550100', From: TEST_SENDER, Body: 'x', StatusCallback: 'https://cb.test/closed' }));
    vi.advanceTimersByTime(150);
    store.close();
    vi.advanceTimersByTime(5000);
    expect(m.status).toBe('sending');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('redaction empties the body of a finished message only', () => {
    const m = store.create(form({ To: '+14155550100', From: TEST_SENDER, Body: 'secret' }));
    expect(() => store.update(m.sid, form({ Body: '' }))).toThrow(/complete/);
    vi.advanceTimersByTime(2000);
    expect(store.update(m.sid, form({ Body: '' })).body).toBe('');
  });
});

describe('the WhatsApp 24-hour window', () => {
  const user = 'whatsapp:+14155550900';
  const sender = `whatsapp:${TEST_SENDER}`;
  const freeText = () => store.create(form({ To: user, From: sender, Body: 'free text' }));

  it('stays open for 24 hours after the user writes, then free text fails with 63016 (a template still passes)', () => {
    store.createInbound({ from: user, to: sender, body: 'hi', mediaUrls: [], messagingServiceSid: null });
    vi.advanceTimersByTime(24 * 3600_000 - 5000);
    const inside = freeText();
    vi.advanceTimersByTime(2000);
    expect(inside).toMatchObject({ status: 'delivered', errorCode: null });
    vi.advanceTimersByTime(5000);
    const outside = freeText();
    const template = store.create(form({ To: user, From: sender, ContentSid: `HX${'e'.repeat(32)}` }));
    vi.advanceTimersByTime(2000);
    expect(outside).toMatchObject({ status: 'failed', errorCode: 63016, price: null, dateSent: null });
    expect(template).toMatchObject({ status: 'delivered', errorCode: null });
  });

  it('a new message from the user renews it; a message to another sender does not open it', () => {
    store.createInbound({ from: user, to: 'whatsapp:+15005550999', body: 'elsewhere', mediaUrls: [], messagingServiceSid: null });
    const closed = freeText();
    vi.advanceTimersByTime(2000);
    expect(closed.errorCode).toBe(63016);
    store.createInbound({ from: user, to: sender, body: 'hi', mediaUrls: [], messagingServiceSid: null });
    vi.advanceTimersByTime(20 * 3600_000);
    store.createInbound({ from: user, to: sender, body: 'still there', mediaUrls: [], messagingServiceSid: null });
    vi.advanceTimersByTime(20 * 3600_000);
    const renewed = freeText();
    vi.advanceTimersByTime(2000);
    expect(renewed.status).toBe('delivered');
  });
});

describe('prices and segments', () => {
  it('bills per segment for SMS, per message for MMS and WhatsApp, as negative strings', () => {
    expect(priceFor({ to: '+14155550100', numSegments: 3, numMedia: 0 })).toBe('-0.02370');
    expect(priceFor({ to: '+447700900123', numSegments: 1, numMedia: 0 })).toBe('-0.05250');
    expect(priceFor({ to: '+14155550100', numSegments: 1, numMedia: 2 })).toBe('-0.02000');
    expect(priceFor({ to: 'whatsapp:+14155550100', numSegments: 4, numMedia: 0 })).toBe('-0.00500');
  });

  const segments: Array<[string, string, number]> = [
    ['160 GSM-7 characters', 'a'.repeat(160), 1],
    ['161 GSM-7 characters', 'a'.repeat(161), 2],
    ['306 GSM-7 characters (2 × 153)', 'a'.repeat(306), 2],
    ['307 GSM-7 characters', 'a'.repeat(307), 3],
    ['80 euro signs (extension characters cost two)', '€'.repeat(80), 1],
    ['81 euro signs', '€'.repeat(81), 2],
    ['70 UCS-2 characters', 'é'.repeat(69) + 'ж', 1],
    ['68 letters and one emoji (70 UTF-16 units)', 'a'.repeat(68) + '😀', 1],
    ['69 letters and one emoji (71 UTF-16 units)', 'a'.repeat(69) + '😀', 2],
    ['134 UCS-2 units (2 × 67)', 'ж'.repeat(134), 2],
    ['135 UCS-2 units', 'ж'.repeat(135), 3],
  ];
  for (const [name, body, count] of segments) {
    it(`${name} → ${count} segment(s)`, () => {
      expect(store.create(form({ To: '+14155550100', From: TEST_SENDER, Body: body })).numSegments).toBe(count);
    });
  }

  it('an MMS counts one segment whatever its body', () => {
    expect(store.create(form({ To: '+14155550100', From: TEST_SENDER, Body: 'a'.repeat(500), MediaUrl: 'https://e.com/a.png' })).numSegments).toBe(1);
  });
});

describe('timing options', () => {
  it('fills defaults and keeps the steps in order', () => {
    expect(normalizeTiming()).toEqual(DEFAULT_TIMING);
    expect(normalizeTiming({ deliveredMs: 50 })).toEqual({ sendingMs: 50, sentMs: 50, deliveredMs: 50 });
    expect(normalizeTiming({ sendingMs: 10, sentMs: 5, deliveredMs: 1 })).toEqual({ sendingMs: 10, sentMs: 10, deliveredMs: 10 });
    expect(normalizeTiming({ sentMs: 20 })).toEqual({ sendingMs: 20, sentMs: 20, deliveredMs: 1500 });
    expect(normalizeTiming({ sendingMs: Number.NaN, deliveredMs: -1 })).toEqual(DEFAULT_TIMING);
  });
});
