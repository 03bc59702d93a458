/** The opt-out guard's refusals, word for word: what the agent is told decides what it does next. */
import { describe, expect, it } from 'vitest';
import { OptOutGuard } from '../../src/policy/opt-out-guard.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import { failureOf } from '../helpers/tool-failure.js';

const AT = new Date('2026-11-24T17:00:00Z');
const refusal = async (guard: OptOutGuard, store: ReturnType<typeof openSqliteStore>, message: { to: string; from?: string; messagingServiceSid?: string }) =>
  failureOf(Promise.resolve().then(() => guard.refuseIfOptedOut(store, { from: undefined, messagingServiceSid: undefined, ...message })));

describe('OptOutGuard', () => {
  it('account scope: names how and from whom, says it covers the account, and carries the rule and the date', async () => {
    const store = openSqliteStore(':memory:');
    await store.applyOptOut({ action: 'add', sender: '+15005550006', recipient: '+14155550100', source: 'keyword', keyword: 'STOP' }, AT);
    await store.applyOptOut({ action: 'add', sender: '*', recipient: '+14155550101', source: 'manual', reason: 'asked by email' }, AT);
    const guard = new OptOutGuard('account');
    const keyword = await refusal(guard, store, { to: '+14155550100', from: '+15005550999' });
    expect(keyword.message).toBe('+14155550100 has opted out (replied STOP) of messages from +15005550006; opt-outs cover the whole account, so nothing was sent.');
    expect(keyword.twilioCode).toBe(21610);
    expect(keyword.nextStep).toBe('Do not message this person. They can opt back in by texting START; an operator can record documented re-consent with remove_opt_out.');
    expect(keyword.extra).toEqual({ rule: 'opt_out', opted_out_since: AT.toISOString() });
    const manual = await refusal(guard, store, { to: '+14155550101' });
    expect(manual.message).toBe('+14155550101 has opted out (recorded by an operator) of messages from every sender; opt-outs cover the whole account, so nothing was sent.');
    expect(await guard.blockingOptOut(store, { to: '+14155550102', from: undefined, messagingServiceSid: undefined })).toBeUndefined();
  });

  it('sender scope: only the sender opted out of (its number, its service, or every sender) blocks, and the text says no more', async () => {
    const store = openSqliteStore(':memory:');
    const service = `MG${'a'.repeat(32)}`;
    await store.applyOptOut({ action: 'add', sender: service, recipient: '+14155550200', source: 'keyword', keyword: 'ARRÊT' }, AT);
    await store.applyOptOut({ action: 'add', sender: '+15005550006', recipient: 'whatsapp:+14155550201', source: 'keyword', keyword: 'STOP' }, AT);
    const guard = new OptOutGuard('sender');
    expect(await guard.blockingOptOut(store, { to: '+14155550200', from: '+15005550006', messagingServiceSid: undefined })).toBeUndefined();
    const viaService = await refusal(guard, store, { to: '+14155550200', messagingServiceSid: service });
    expect(viaService.message).toBe(`+14155550200 has opted out (replied ARRÊT) of messages from ${service}; nothing was sent.`);
    // The WhatsApp sender is the same number: a whatsapp: sender is matched without its prefix too.
    expect((await guard.blockingOptOut(store, { to: 'whatsapp:+14155550201', from: 'whatsapp:+15005550006', messagingServiceSid: undefined }))?.sender).toBe('+15005550006');
    // ...and the person without the prefix is the same person.
    expect(await guard.blockingOptOut(store, { to: '+14155550201', from: '+15005550006', messagingServiceSid: undefined })).toBeDefined();
  });

  it('shows a stored keyword only when it is one word: a sentence stored by an old version never reaches the agent', async () => {
    const store = openSqliteStore(':memory:');
    await store.applyOptOut({ action: 'add', sender: '*', recipient: '+14155550300', source: 'keyword', keyword: 'STOP NOW' }, AT);
    await store.applyOptOut({ action: 'add', sender: '*', recipient: '+14155550301', source: 'keyword' }, AT);
    const guard = new OptOutGuard();
    expect((await refusal(guard, store, { to: '+14155550300' })).message).toBe('+14155550300 has opted out (replied with an opt-out keyword) of messages from every sender; opt-outs cover the whole account, so nothing was sent.');
    expect((await refusal(guard, store, { to: '+14155550301' })).message).toMatch(/\(replied with an opt-out keyword\)/);
  });
});
