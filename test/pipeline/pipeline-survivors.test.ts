/**
 * The send paths Stryker found untested at the unit level: calls, one send to many people
 * (conversations), verifications, the campaign pre-check, the recorded sender, and the
 * production clock. Each test runs the real pipeline over a real SQLite store with a
 * stand-in for the Twilio call, and asserts on what reached the stand-in and the store —
 * the promise is "nothing is sent that a guard refused", so that is what is counted.
 */
import { describe, expect, it } from 'vitest';
import { ToolFailure } from '../../src/errors/tool-failure.js';
import { runInCallContext, type CallContext } from '../../src/pipeline/call-context.js';
import { SendPipeline, type PipelineMessage } from '../../src/pipeline/send-pipeline.js';
import { OptOutGuard } from '../../src/policy/opt-out-guard.js';
import { PolicyEngine } from '../../src/policy/policy-engine.js';
import { loadPolicy } from '../../src/policy/policy-schema.js';
import type { ReservationRequest, Store } from '../../src/store/store.js';
import { tempStores } from '../helpers/temp-store.js';
import { failureOf } from '../helpers/tool-failure.js';

const SENDER = '+14155550000';
const SERVICE = `MG${'b'.repeat(32)}`;
const VERIFY_SERVICE = `VA${'c'.repeat(32)}`;
/** Noon in New York: no quiet hours. */
const NOON_NY = new Date('2026-11-24T17:00:00Z');
/** 03:00 in New York: inside the default quiet hours (21:00–08:00). */
const NIGHT_NY = new Date('2026-11-24T08:00:00Z');
const EVER = new Date(0);
const { freshFile, open } = tempStores('mcp-twilio-pipeline-survivors-');

/** The store, with every reservation request the pipeline made kept for the test to read. */
function recording(store: Store) {
  const requests: ReservationRequest[] = [];
  const wrapped: Store = {
    ...store,
    reserveSend: (keys, decide) =>
      store.reserveSend(keys, (ledger) => {
        const request = decide(ledger);
        requests.push(request);
        return request;
      }),
  };
  return { store: wrapped, requests };
}

function pipelineFor(store: Store, env: Record<string, string> = {}, now = () => NOON_NY, callsHonorSmsOptOuts = false) {
  const policy = loadPolicy({ env });
  const engine = new PolicyEngine(policy, store, SENDER, now);
  return new SendPipeline({ store: async () => store, policy: engine, optOuts: new OptOutGuard(policy.opt_out_scope, { callsHonorSmsOptOuts }), redactBodies: true, now });
}

const sms = (to: string, body = 'hello', extra: Partial<PipelineMessage> = {}): PipelineMessage => ({
  channel: 'sms', to, from: SENDER, messagingServiceSid: undefined, body, segments: 1, ...extra,
});

/** A Twilio stand-in: records each request that "left", answers with a fresh SID. */
function twilio(prefix = 'SM') {
  const sent: string[] = [];
  let n = 0;
  return {
    sent,
    dispatch: (what: string) => async () => {
      sent.push(what);
      return { sid: `${prefix}${String(++n).padStart(32, '0')}` };
    },
  };
}

const totals = (store: Store) => store.sendTotals(EVER, EVER);
const outcomes = async (store: Store) => (await store.listAudit({ limit: 20 })).map((e) => e.outcome);
const context = (tool: string, args: Record<string, unknown>): CallContext => ({ tool, args, clientName: 'survivor-test', sessionId: 's-1' });

describe('what a reservation records', () => {
  it('the sender: a Messaging Service wins over a number, a number alone is kept, neither is null', async () => {
    const { store, requests } = recording(open(freshFile()));
    const pipeline = pipelineFor(store);
    const fake = twilio();
    await pipeline.sendMessage(sms('+14155551001', 'a', { messagingServiceSid: SERVICE }), fake.dispatch('service'));
    await pipeline.sendMessage(sms('+14155551002', 'b'), fake.dispatch('number'));
    await pipeline.sendMessage(sms('+14155551003', 'c', { from: undefined, messagingServiceSid: SERVICE }), fake.dispatch('service only'));
    await pipeline.sendMessage(sms('+14155551004', 'd', { from: undefined }), fake.dispatch('default sender'));
    // Insights group sends by this sender; a wrong one misattributes cost and delivery.
    expect(requests.map((r) => r.from)).toEqual([SERVICE, SENDER, SERVICE, null]);
  });

  it('with the production wiring (no injected clock) a send is settled as sent, not left in flight', async () => {
    const store = open(freshFile());
    const policy = loadPolicy({ env: { TWILIO_MCP_QUIET_HOURS: 'off' } });
    // As src/cli/start-app.ts builds it: neither the engine nor the pipeline is given a clock.
    const pipeline = new SendPipeline({ store: async () => store, policy: new PolicyEngine(policy, store, SENDER), optOuts: new OptOutGuard(), redactBodies: true });
    const before = Date.now();
    const outcome = await pipeline.sendMessage(sms('+14155551010', 'real clock'), twilio().dispatch('x'));
    expect(outcome.dryRun).toBe(false);
    expect(await outcomes(store)).toEqual(['sent']);
    const reservation = await store.findReservationBySid(`SM${'1'.padStart(32, '0')}`);
    expect(reservation?.state).toBe('sent');
    expect(reservation!.at.getTime()).toBeGreaterThanOrEqual(before);
  });
});

describe('check(): the campaign pre-check', () => {
  it('refuses an opted-out recipient and a scheduled time inside quiet hours, allows the rest, and reserves nothing', async () => {
    const store = open(freshFile());
    await store.applyOptOut({ action: 'add', sender: SENDER, recipient: '+14155551101', source: 'keyword', keyword: 'STOP' }, NOON_NY);
    const pipeline = pipelineFor(store);
    expect((await failureOf(pipeline.check(sms('+14155551101')))).extra).toMatchObject({ rule: 'opt_out' });
    // "Now" is noon in New York; the message would go out at 03:00 there.
    expect((await failureOf(pipeline.check(sms('+12125551102', 'later', { sendAt: NIGHT_NY })))).extra).toMatchObject({ rule: 'quiet_hours', recipient_local_time: '03:00' });
    await expect(pipeline.check(sms('+12125551102', 'later', { sendAt: new Date('2026-11-24T20:00:00Z') }))).resolves.toBeUndefined();
    expect(await totals(store)).toMatchObject({ messagesToday: 0 });
    expect(await outcomes(store)).toEqual([]);
  });

  it('judges quiet hours at the pipeline clock when nothing is scheduled', async () => {
    const pipeline = pipelineFor(open(freshFile()), {}, () => NIGHT_NY);
    expect((await failureOf(pipeline.check(sms('+12125551103')))).extra).toMatchObject({ rule: 'quiet_hours' });
  });
});

describe('calls through the pipeline', () => {
  const call = (to: string, extra: Record<string, unknown> = {}) => ({ to, from: SENDER, content: '<Response><Say>hi</Say></Response>', ...extra });

  it('an SMS STOP does not block a call unless the policy says so; the call is reserved as a voice call', async () => {
    const store = open(freshFile());
    await store.applyOptOut({ action: 'add', sender: SENDER, recipient: '+14155551201', source: 'keyword', keyword: 'STOP' }, NOON_NY);
    const dialled = twilio('CA');
    const outcome = await pipelineFor(store).sendCall(call('+14155551201'), dialled.dispatch('call'));
    expect(dialled.sent).toEqual(['call']);
    expect(outcome).toMatchObject({ dryRun: false, result: { sid: `CA${'1'.padStart(32, '0')}` }, reservation: { kind: 'call', channel: 'voice', to: '+14155551201' } });
    expect((outcome as { decision: { estimatedMinutes: number } }).decision.estimatedMinutes).toBeGreaterThanOrEqual(1);
    expect(await totals(store)).toMatchObject({ callsToday: 1, messagesToday: 0 });
    // No tool call around it: the audit row is make_call's.
    expect((await store.listAudit({ limit: 1 })).map((e) => [e.tool, e.outcome])).toEqual([['make_call', 'sent']]);

    const refused = await failureOf(pipelineFor(store, {}, () => NOON_NY, true).sendCall(call('+14155551201', { content: 'other' }), dialled.dispatch('honoured')));
    expect(refused.extra).toMatchObject({ rule: 'do_not_call', channel: 'sms' });
    expect(dialled.sent).toEqual(['call']);
  });

  it('a do-not-call entry refuses before anything is reserved', async () => {
    const store = open(freshFile());
    await store.applyOptOut({ action: 'add', sender: '*', recipient: '+14155551202', source: 'manual', channel: 'voice' }, NOON_NY);
    const dialled = twilio('CA');
    const refused = await failureOf(pipelineFor(store).sendCall(call('+14155551202'), dialled.dispatch('call')));
    expect(refused.extra).toMatchObject({ rule: 'do_not_call' });
    expect(dialled.sent).toEqual([]);
    // Refused by the first look, not released after a reservation: no audit row at all.
    expect(await store.listAudit({ limit: 5 })).toEqual([]);
  });

  it('dry run decides the call and dials nothing', async () => {
    const store = open(freshFile());
    const dialled = twilio('CA');
    const outcome = await pipelineFor(store, { TWILIO_MCP_DRY_RUN: 'true' }).sendCall(call('+14155551203'), dialled.dispatch('call'));
    expect(outcome.dryRun).toBe(true);
    expect(outcome.decision).toMatchObject({ allowed: true, dryRun: true });
    expect(dialled.sent).toEqual([]);
    expect(await totals(store)).toMatchObject({ callsToday: 0 });
  });

  it('inside a tool call the call is marked audited, so the server writes no second row', async () => {
    const store = open(freshFile());
    const ctx = context('make_call', { to: '+14155551204' });
    await runInCallContext(ctx, () => pipelineFor(store).sendCall(call('+14155551204'), twilio('CA').dispatch('call')));
    expect(ctx.auditedSend).toBe(true);
    expect((await store.listAudit({ limit: 1 }))[0]).toMatchObject({ tool: 'make_call', clientName: 'survivor-test', sessionId: 's-1' });
  });

  it('a call whose answer was lost says to check list_calls, and the same call is refused until then', async () => {
    const store = open(freshFile());
    const pipeline = pipelineFor(store);
    const failure = await failureOf(pipeline.sendCall(call('+14155551205'), () => Promise.reject(new ToolFailure({ message: 'No answer.', outcomeUnknown: true }))));
    expect(failure.outcomeUnknown).toBe(true);
    expect(failure.nextStep).toBe(
      'Before calling again, call list_calls with to="+14155551205" and started_after 2026-11-24T17:00:00.000Z; call again only if there is none. ' +
        'Until the duplicate window passes, the same call to this number is refused as a possible duplicate (allow_duplicate: true overrides).',
    );
    const dialled = twilio('CA');
    const repeat = await failureOf(pipeline.sendCall(call('+14155551205'), dialled.dispatch('again')));
    expect(repeat.extra).toMatchObject({ rule: 'duplicate', earlier_state: 'outcome_unknown' });
    expect(dialled.sent).toEqual([]);
  });
});

describe('sendToMany: one request that reaches several people', () => {
  const people = ['+14155551301', '+14155551302'];

  it('with no phone participants the request goes out once and nothing is reserved', async () => {
    const store = open(freshFile());
    const fake = twilio('IM');
    const outcome = await pipelineFor(store).sendToMany([], fake.dispatch('conversation'));
    expect(outcome).toEqual({ dryRun: false, decision: [], result: { sid: `IM${'1'.padStart(32, '0')}` }, reservation: undefined });
    expect(fake.sent).toEqual(['conversation']);
    expect(await outcomes(store)).toEqual([]);
  });

  it('reserves every recipient before the one dispatch and settles them all with its SID', async () => {
    const store = open(freshFile());
    const fake = twilio('IM');
    const ctx = context('send_conversation_message', { conversation: 'CH1', body: 'hi all' });
    const outcome = await runInCallContext(ctx, () => pipelineFor(store).sendToMany(people.map((p) => sms(p, 'hi all')), fake.dispatch('conversation')));
    expect(fake.sent).toEqual(['conversation']);
    expect(ctx.auditedSend).toBe(true);
    expect(outcome.dryRun).toBe(false);
    expect(outcome.decision).toHaveLength(2);
    for (const d of outcome.decision) expect(d).toMatchObject({ allowed: true, segments: 1 });
    if (outcome.dryRun) throw new Error('expected a send, not a dry run');
    expect(outcome.reservation).toMatchObject({ to: people[0], kind: 'message' });
    const sid = `IM${'1'.padStart(32, '0')}`;
    expect((await store.listAudit({ limit: 5 })).map((e) => [e.tool, e.outcome, e.resultSid])).toEqual([
      ['send_conversation_message', 'sent', sid],
      ['send_conversation_message', 'sent', sid],
    ]);
    expect(await totals(store)).toMatchObject({ messagesToday: 2 });
  });

  it('one opted-out participant refuses the whole send before anything is reserved', async () => {
    const store = open(freshFile());
    await store.applyOptOut({ action: 'add', sender: SENDER, recipient: people[1]!, source: 'keyword', keyword: 'STOP' }, NOON_NY);
    const fake = twilio('IM');
    const refused = await failureOf(pipelineFor(store).sendToMany(people.map((p) => sms(p)), fake.dispatch('conversation')));
    expect(refused.twilioCode).toBe(21610);
    expect(fake.sent).toEqual([]);
    expect(await outcomes(store)).toEqual([]);
  });

  it('a participant refused by a cap releases what was reserved for the others', async () => {
    const store = open(freshFile());
    const fake = twilio('IM');
    const refused = await failureOf(pipelineFor(store, { TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '1' }).sendToMany(people.map((p) => sms(p)), fake.dispatch('conversation')));
    expect(refused.extra).toMatchObject({ rule: 'caps', cap: 'messages_per_hour' });
    expect(fake.sent).toEqual([]);
    expect(await totals(store)).toMatchObject({ messagesToday: 0 });
    expect(await store.listAudit({ limit: 5 })).toMatchObject([{ outcome: 'released', error: 'another recipient of the same send was refused' }]);
  });

  it('a participant whose STOP raced the reservation releases every reservation', async () => {
    const base = open(freshFile());
    let reserved = 0;
    const racing: Store = {
      ...base,
      reserveSend: async (keys, decide) => {
        // The second participant's STOP lands once the first is reserved.
        if (++reserved === 2) await base.applyOptOut({ action: 'add', sender: SENDER, recipient: people[1]!, source: 'keyword', keyword: 'STOP' }, NOON_NY);
        return base.reserveSend(keys, decide);
      },
    };
    const fake = twilio('IM');
    expect((await failureOf(pipelineFor(racing).sendToMany(people.map((p) => sms(p)), fake.dispatch('conversation')))).twilioCode).toBe(21610);
    expect(fake.sent).toEqual([]);
    expect(await outcomes(base)).toEqual(['released', 'released']);
  });

  it('dry run decides each participant and sends and reserves nothing', async () => {
    const store = open(freshFile());
    const fake = twilio('IM');
    const outcome = await pipelineFor(store, { TWILIO_MCP_DRY_RUN: 'true' }).sendToMany(people.map((p) => sms(p)), fake.dispatch('conversation'));
    expect(outcome.dryRun).toBe(true);
    expect(outcome.decision).toHaveLength(2);
    for (const d of outcome.decision) expect(d).toMatchObject({ allowed: true, dryRun: true });
    expect(fake.sent).toEqual([]);
    expect(await outcomes(store)).toEqual([]);
  });
});

describe('verifications', () => {
  const verification = (to: string, channel: 'sms' | 'whatsapp' | 'call' | 'email') => ({ to, channel, serviceSid: VERIFY_SERVICE, estimatedCost: 0.05 });

  it('an SMS code goes out at 03:00, to a number never contacted, and again when resent: transactional, never a first contact or a duplicate', async () => {
    const { store, requests } = recording(open(freshFile()));
    const pipeline = pipelineFor(store, { TWILIO_MCP_FIRST_CONTACT: 'refuse' }, () => NIGHT_NY);
    const fake = twilio('VE');
    await pipeline.sendVerification(verification('+12125551401', 'sms'), fake.dispatch('code'));
    const resend = await pipeline.sendVerification(verification('+12125551401', 'sms'), fake.dispatch('resend'));
    expect(fake.sent).toEqual(['code', 'resend']);
    // The resend is let through, and the agent is told it is one (same service, same channel, same number).
    expect(resend.decision.warnings).toEqual([
      'Sent during quiet hours (03:00 for the recipient, America/New_York; quiet hours are 21:00–08:00) because transactional: true.',
      `Possible duplicate: the same text went to +12125551401 at ${NIGHT_NY.toISOString()} (VE${'1'.padStart(32, '0')}); sending again because allow_duplicate: true.`,
    ]);
    expect(requests.map((r) => [r.kind, r.channel, r.to])).toEqual([
      ['message', 'sms', '+12125551401'],
      ['message', 'sms', '+12125551401'],
    ]);
    expect((await store.listAudit({ limit: 1 }))[0]).toMatchObject({ tool: 'send_sms', outcome: 'sent' });
  });

  it('a WhatsApp code is reserved as WhatsApp, a voice code as a call', async () => {
    const { store, requests } = recording(open(freshFile()));
    const pipeline = pipelineFor(store, {}, () => NIGHT_NY);
    const fake = twilio('VE');
    await pipeline.sendVerification(verification('+12125551402', 'whatsapp'), fake.dispatch('wa'));
    const voice = await pipeline.sendVerification(verification('+12125551403', 'call'), fake.dispatch('voice'));
    expect(fake.sent).toEqual(['wa', 'voice']);
    expect(requests.map((r) => [r.kind, r.channel])).toEqual([
      ['message', 'whatsapp'],
      ['call', 'voice'],
    ]);
    if (voice.dryRun) throw new Error('expected a send, not a dry run');
    expect(voice.reservation).toMatchObject({ kind: 'call' });
    expect(await totals(store)).toMatchObject({ messagesToday: 1, callsToday: 1 });
  });

  it('a code to an SMS opt-out is refused, and nothing leaves', async () => {
    const store = open(freshFile());
    await store.applyOptOut({ action: 'add', sender: SENDER, recipient: '+14155551404', source: 'keyword', keyword: 'STOP' }, NOON_NY);
    const fake = twilio('VE');
    expect((await failureOf(pipelineFor(store).sendVerification(verification('+14155551404', 'sms'), fake.dispatch('code')))).twilioCode).toBe(21610);
    expect(fake.sent).toEqual([]);
  });

  it('an email code passes no phone rule but is reserved, audited and counted against caps and spend', async () => {
    const { store, requests } = recording(open(freshFile()));
    const fake = twilio('VE');
    const ctx = context('start_verification', { to: 'ada@example.com', channel: 'email' });
    const outcome = await runInCallContext(ctx, () => pipelineFor(store, { TWILIO_MCP_FIRST_CONTACT: 'refuse' }, () => NIGHT_NY).sendVerification(verification('ada@example.com', 'email'), fake.dispatch('email')));
    expect(fake.sent).toEqual(['email']);
    expect(ctx.auditedSend).toBe(true);
    expect(outcome).toMatchObject({ dryRun: false, result: { sid: `VE${'1'.padStart(32, '0')}` }, reservation: { kind: 'message', channel: 'email', to: 'ada@example.com' } });
    expect(outcome.decision).toMatchObject({ allowed: true, estimatedCost: 0.05, warnings: [] });
    expect(requests.map((r) => [r.kind, r.channel, r.bodyHash])).toEqual([['message', 'email', null]]);
    expect(await totals(store)).toMatchObject({ messagesToday: 1, spendToday: 0.05 });
    expect((await store.listAudit({ limit: 1 }))[0]).toMatchObject({ tool: 'start_verification', outcome: 'sent' });
  });

  it('an email code outside a tool call is audited as start_verification, and refused by a full cap', async () => {
    const store = open(freshFile());
    const fake = twilio('VE');
    const pipeline = pipelineFor(store, { TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '1' });
    await pipeline.sendVerification(verification('ada@example.com', 'email'), fake.dispatch('first'));
    expect((await store.listAudit({ limit: 1 }))[0]).toMatchObject({ tool: 'start_verification', arguments: { to: 'ada@example.com' } });
    expect((await failureOf(pipeline.sendVerification(verification('bob@example.com', 'email'), fake.dispatch('second')))).extra).toMatchObject({ rule: 'caps' });
    expect(fake.sent).toEqual(['first']);
  });

  it('an email code in a dry run is decided and nothing is sent or reserved', async () => {
    const store = open(freshFile());
    const fake = twilio('VE');
    const outcome = await pipelineFor(store, { TWILIO_MCP_DRY_RUN: 'true' }).sendVerification(verification('ada@example.com', 'email'), fake.dispatch('email'));
    expect(outcome.dryRun).toBe(true);
    expect(outcome.decision).toMatchObject({ allowed: true, dryRun: true });
    expect(fake.sent).toEqual([]);
    expect(await outcomes(store)).toEqual([]);
  });
});
