/**
 * What voice adds to the store (migration 5): opt-outs with a channel that combine as sets,
 * IVR flows, the numbers they answer, and each call's events.
 */
import { describe, expect, it } from 'vitest';
import { BLOCKS_CALLS, BLOCKS_MESSAGES } from '../../src/store/store.js';
import { tempStores } from '../helpers/temp-store.js';

const stores = tempStores('mcp-twilio-voice-store-');
const at = new Date('2026-12-01T12:00:00Z');
const person = '+14155550900';

describe('opt-out channels', () => {
  it('a keyword opt-out (no channel) is an SMS one: it blocks messages, not calls', async () => {
    const store = stores.open(stores.freshFile());
    await store.applyOptOut({ action: 'add', sender: '+15005550006', recipient: person, source: 'keyword', keyword: 'STOP' }, at);
    expect((await store.findAnyOptOut([person], BLOCKS_MESSAGES))?.channel).toBe('sms');
    expect(await store.findAnyOptOut([person], BLOCKS_CALLS)).toBeUndefined();
    expect(await store.isOptedOut(['+15005550006'], person)).toBeDefined();
    expect(await store.isOptedOut(['+15005550006'], person, BLOCKS_CALLS)).toBeUndefined();
  });

  it('sms + voice makes all; removing one channel of all leaves the other; removing all deletes', async () => {
    const store = stores.open(stores.freshFile());
    expect(await store.applyOptOut({ action: 'add', sender: '*', recipient: person, source: 'manual', channel: 'voice' }, at)).toBe(true);
    expect(await store.findAnyOptOut([person], BLOCKS_MESSAGES)).toBeUndefined();
    expect(await store.applyOptOut({ action: 'add', sender: '*', recipient: person, source: 'keyword', keyword: 'STOP', channel: 'sms' }, at)).toBe(true);
    expect((await store.listOptOuts({ recipient: person, limit: 5 })).map((o) => o.channel)).toEqual(['all']);
    // Adding a channel it already covers changes nothing.
    expect(await store.applyOptOut({ action: 'add', sender: '*', recipient: person, source: 'manual', channel: 'voice' }, at)).toBe(false);
    // START (an SMS opt-in) lifts the SMS part only: the do-not-call request stays.
    expect(await store.applyOptOut({ action: 'remove', sender: '*', recipient: person, source: 'keyword', keyword: 'START', channel: 'sms' }, at)).toBe(true);
    expect((await store.listOptOuts({ recipient: person, limit: 5 })).map((o) => o.channel)).toEqual(['voice']);
    expect((await store.findAnyOptOut([person], BLOCKS_CALLS))?.channel).toBe('voice');
    // Removing a channel it does not cover changes nothing; "all" removes it.
    expect(await store.applyOptOut({ action: 'remove', sender: '*', recipient: person, source: 'manual', channel: 'sms' }, at)).toBe(false);
    expect(await store.applyOptOut({ action: 'remove', sender: '*', recipient: person, source: 'manual', channel: 'all' }, at)).toBe(true);
    expect(await store.listOptOuts({ recipient: person, limit: 5 })).toEqual([]);
    // Every change is audited with its channel.
    expect((await store.listOptOutAudit({ recipient: person, limit: 10 })).map((e) => `${e.action}:${e.channel}`).reverse()).toEqual([
      'add:voice', 'add:sms', 'add:voice', 'remove:sms', 'remove:sms', 'remove:all',
    ]);
  });
});

describe('IVR flows, inbound numbers and call events', () => {
  it('saves (new, then replaced), lists, maps a number, and deletes a flow with its uses', async () => {
    const store = stores.open(stores.freshFile());
    expect(await store.saveIvrFlow('menu', { name: 'menu', steps: [] }, at)).toBe(true);
    expect(await store.saveIvrFlow('menu', { name: 'menu', steps: [{ id: 'a' }] }, new Date(at.getTime() + 1000))).toBe(false);
    const flow = (await store.getIvrFlow('menu'))!;
    expect(flow.definition).toEqual({ name: 'menu', steps: [{ id: 'a' }] });
    expect(flow.createdAt.toISOString()).toBe(at.toISOString());
    expect(flow.updatedAt.getTime()).toBe(at.getTime() + 1000);
    await store.setInboundCallFlow('+15005550006', 'menu', at);
    expect(await store.getInboundCallFlow('+15005550006')).toBe('menu');
    expect((await store.listInboundCallFlows('menu')).map((u) => u.number)).toEqual(['+15005550006']);
    expect(await store.deleteIvrFlow('menu')).toBe(true);
    expect(await store.getInboundCallFlow('+15005550006')).toBeUndefined();
    expect(await store.deleteIvrFlow('menu')).toBe(false);
  });

  it('keeps a call\'s events in order', async () => {
    const store = stores.open(stores.freshFile());
    const base = { callSid: 'CA'.padEnd(34, '0'), flowName: 'menu', digits: null, speech: null, confidence: null, detail: null };
    await store.appendCallEvent({ ...base, step: 'a', kind: 'prompt', at });
    await store.appendCallEvent({ ...base, step: 'a', kind: 'answer', digits: '1', confidence: 0.5, at });
    expect((await store.listCallEvents(base.callSid)).map((e) => [e.step, e.kind, e.digits, e.confidence])).toEqual([
      ['a', 'prompt', null, null],
      ['a', 'answer', '1', 0.5],
    ]);
    expect(await store.listCallEvents('CA'.padEnd(34, '1'))).toEqual([]);
  });
});

describe('live conversation sessions', () => {
  it('every turn is on disk as it happens; a restart ends the open sessions and keeps their transcripts', async () => {
    const file = stores.freshFile();
    const first = stores.open(file);
    await first.openRelaySession({ sessionId: 's-1', to: '+14155550900', purpose: 'test', startedAt: at });
    await first.bindRelaySession('s-1', 'CA'.padEnd(34, '7'));
    await first.appendTranscript('s-1', { at, speaker: 'caller', kind: 'said', text: 'hello' });
    await first.appendTranscript('s-1', { at, speaker: 'agent', kind: 'said', text: 'hi there' });
    await first.close();
    // What a new process finds on the same file.
    const second = stores.open(file);
    const ended = await second.endOrphanRelaySessions(new Date(at.getTime() + 1000));
    expect(ended.map((s) => s.sessionId)).toEqual(['s-1']);
    expect(await second.findRelaySessionByCall('CA'.padEnd(34, '7'))).toMatchObject({ outcome: 'server_restarted', endedAt: new Date(at.getTime() + 1000) });
    expect((await second.listTranscript('s-1')).map((t) => `${t.speaker}:${t.text}`)).toEqual(['caller:hello', 'agent:hi there']);
    expect(await second.endOrphanRelaySessions(new Date())).toEqual([]);
  });
});
