/**
 * The one path for everything that reaches a person or costs money:
 *
 *   validate (the caller) → opt-out → policy → reserve → opt-out again → Twilio → settle
 *
 * The rules that read the ledger (duplicates, caps, spend, first contact) are decided in
 * the store's write transaction (SQLite: BEGIN IMMEDIATE) that inserts the reservation and
 * the audit intent, against the ledger snapshot read under the same lock, so two sends —
 * two concurrent tool calls, or two processes on one data directory — cannot both take the
 * last slot. Opt-outs are checked before (a refusal reserves nothing) and again once the
 * reservation is on disk (a STOP that raced the send still wins; the reservation is released). The reservation is on disk before the
 * request leaves: a lost answer or a killed process leaves a row that still counts
 * (`outcome_unknown`), and the same text to the same number is refused as a possible
 * duplicate until the window passes or the caller says allow_duplicate.
 */
import { ToolFailure } from '../errors/tool-failure.js';
import type { OptOutGuard } from '../policy/opt-out-guard.js';
import type { CallDecision, MessageDecision, PolicyEngine, PreparedSend } from '../policy/policy-engine.js';
import { hashBody } from '../policy/send-ledger.js';
import type { OutgoingCall, OutgoingMessage } from '../policy/send-guard.js';
import type { Reservation, Store } from '../store/store.js';
import { log } from '../util/log.js';
import { redactArguments } from '../util/redact-arguments.js';
import { currentCallContext, type CallContext } from './call-context.js';

export interface PipelineMessage extends OutgoingMessage {
  /** When the message will go out (send_at): quiet hours judge this moment. */
  sendAt?: Date;
}

export type PipelineOutcome<T, D = MessageDecision> =
  | { dryRun: true; decision: D }
  | { dryRun: false; decision: D; result: T; reservation: Reservation };

/** What a reservation records of a send (any kind); `fallbackTool` names the audit row when no tool call is in context. */
interface ReservedSend {
  kind: 'message' | 'call';
  channel: string;
  to: string;
  /** The sender: a number or a Messaging Service SID, when known. */
  from: string | null;
  sendAt: Date | undefined;
  fallbackTool: string;
}

const messageSend = (m: PipelineMessage): ReservedSend => ({
  kind: 'message',
  channel: m.channel,
  to: m.to,
  from: m.messagingServiceSid ?? m.from ?? null,
  sendAt: m.sendAt,
  fallbackTool: m.channel === 'whatsapp' ? 'send_whatsapp' : 'send_sms',
});

/** A call as the pipeline sees it; `tool` names the audit row when no tool call is in context. */
export type PipelineCall = OutgoingCall;

export interface SendPipelineOptions {
  store: () => Promise<Store>;
  policy: PolicyEngine;
  optOuts: OptOutGuard;
  /** Redact message bodies in the audit intent (the policy's audit.redact_bodies). */
  redactBodies: boolean;
  now?: () => Date;
}

const strip = (n: string) => n.replace(/^whatsapp:/i, '');

export class SendPipeline {
  private readonly now: () => Date;

  constructor(private readonly options: SendPipelineOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /**
   * The guards that need no ledger (opt-outs, then lists, country, quiet hours) for a message
   * that is not being sent now: a campaign's dry run judges each recipient with the same
   * rules the send will meet. Throws the refusal's ToolFailure (extra.rule says which).
   */
  async check(message: PipelineMessage): Promise<void> {
    const { store: openStore, policy, optOuts } = this.options;
    await optOuts.refuseIfOptedOut(await openStore(), message);
    await policy.prepareMessage(message, { now: this.now(), sendAt: message.sendAt });
  }

  /**
   * Runs a message through every guard and, when allowed, `dispatch` (the one Twilio call).
   * Refusals throw a ToolFailure before anything is sent.
   */
  async sendMessage<T extends { sid: string }>(message: PipelineMessage, dispatch: () => Promise<T>): Promise<PipelineOutcome<T>> {
    const { store: openStore, policy, optOuts } = this.options;
    const store = await openStore();
    // Opt-outs first (they cannot be overridden), then the rules that need no ledger.
    await optOuts.refuseIfOptedOut(store, message);
    const prepared = await policy.prepareMessage(message, { now: this.now(), sendAt: message.sendAt });
    const keys = policy.ledgerKeys(prepared);
    if (policy.dryRun) return { dryRun: true, decision: policy.decideMessage(prepared, await store.readLedger(keys)) };

    const context = currentCallContext();
    let decision: MessageDecision | undefined;
    const reservation = await store.reserveSend(keys, (ledger) => {
      decision = policy.decideMessage(prepared, ledger);
      return this.reservationRequest(messageSend(message), prepared, decision, context);
    });
    if (context) context.auditedSend = true;
    await this.releaseIfOptedOut(store, [reservation], [message], 'message');

    const result = await this.dispatchAndSettle(store, reservation, dispatch);
    return { dryRun: false, decision: decision!, result, reservation };
  }

  /**
   * The same path for a call: do-not-call list → policy (lists, country, quiet hours) →
   * reserve (duplicate, calls-per-day cap, spend, first contact) → `dispatch` → settle.
   */
  async sendCall<T extends { sid: string }>(call: PipelineCall, dispatch: () => Promise<T>): Promise<PipelineOutcome<T, CallDecision>> {
    const { store: openStore, policy, optOuts } = this.options;
    const store = await openStore();
    const recipient = { to: call.to, from: call.from, messagingServiceSid: undefined };
    await optOuts.refuseIfOptedOut(store, recipient, 'call');
    const prepared = await policy.prepareCall(call, { now: this.now() });
    const keys = policy.ledgerKeys(prepared);
    if (policy.dryRun) return { dryRun: true, decision: policy.decideCall(prepared, await store.readLedger(keys)) };

    const context = currentCallContext();
    let decision: CallDecision | undefined;
    const reservation = await store.reserveSend(keys, (ledger) => {
      decision = policy.decideCall(prepared, ledger);
      return this.reservationRequest({ kind: 'call', channel: 'voice', to: call.to, from: null, sendAt: undefined, fallbackTool: 'make_call' }, prepared, decision, context);
    });
    if (context) context.auditedSend = true;
    await this.releaseIfOptedOut(store, [reservation], [recipient], 'call');

    const result = await this.dispatchAndSettle(store, reservation, dispatch);
    return { dryRun: false, decision: decision!, result, reservation };
  }

  /**
   * One request that reaches several people (a conversation message fans out to every SMS
   * and WhatsApp participant): each recipient passes every guard and is reserved, all
   * before the one `dispatch`; a refusal of any refuses the whole send and releases what was
   * reserved for the others. Settled together with the one SID Twilio returns.
   */
  async sendToMany<T extends { sid: string }>(messages: PipelineMessage[], dispatch: () => Promise<T>): Promise<PipelineOutcome<T, MessageDecision[]> | { dryRun: false; decision: []; result: T; reservation: undefined }> {
    if (messages.length === 0) return { dryRun: false, decision: [], result: await dispatch(), reservation: undefined };
    const { store: openStore, policy, optOuts } = this.options;
    const store = await openStore();
    const prepared: PreparedSend[] = [];
    for (const message of messages) {
      await optOuts.refuseIfOptedOut(store, message);
      prepared.push(await policy.prepareMessage(message, { now: this.now() }));
    }
    if (policy.dryRun) {
      const decisions: MessageDecision[] = [];
      for (const p of prepared) decisions.push(policy.decideMessage(p, await store.readLedger(policy.ledgerKeys(p))));
      return { dryRun: true, decision: decisions };
    }
    const context = currentCallContext();
    const decisions: MessageDecision[] = [];
    const reservations: Reservation[] = [];
    try {
      // One after another: each is decided against the ledger holding the ones before it.
      for (const [i, message] of messages.entries()) {
        const p = prepared[i]!;
        reservations.push(
          await store.reserveSend(policy.ledgerKeys(p), (ledger) => {
            const decision = policy.decideMessage(p, ledger);
            decisions.push(decision);
            return this.reservationRequest(messageSend(message), p, decision, context);
          }),
        );
      }
    } catch (error) {
      await this.releaseAll(store, reservations, 'another recipient of the same send was refused');
      throw error;
    }
    if (context) context.auditedSend = true;
    await this.releaseIfOptedOut(store, reservations, messages, 'message');
    const [first, ...others] = reservations;
    const result = await this.dispatchAndSettle(store, first!, dispatch, (settlement) => Promise.all(others.map((r) => this.settle(store, r, settlement))));
    return { dryRun: false, decision: decisions, result, reservation: first! };
  }

  /**
   * A verification: Twilio sends the code, but it still reaches a person and costs money, so
   * it takes the same path. It is transactional by nature (the person asked for the code
   * now): quiet hours do not hold it, it is never a first contact, and a resend is not a
   * duplicate (Verify itself limits send attempts). Opt-outs, countries, caps, spend, dry
   * run and the audit apply: an SMS or WhatsApp code as a message, a voice code as a call.
   * An email code has no phone rules to pass; it is reserved and audited, and counts
   * against the message caps and the spend cap.
   */
  async sendVerification<T extends { sid: string }>(
    verification: { to: string; channel: 'sms' | 'whatsapp' | 'call' | 'email'; serviceSid: string; estimatedCost: number },
    dispatch: () => Promise<T>,
  ): Promise<PipelineOutcome<T, MessageDecision | CallDecision>> {
    const content = `verify:${verification.serviceSid}:${verification.channel}`;
    const flags = { transactional: true, allowDuplicate: true, firstContactConfirmed: true };
    if (verification.channel === 'call') return this.sendCall({ to: verification.to, from: undefined, content, ...flags }, dispatch);
    if (verification.channel !== 'email') {
      const channel = verification.channel === 'whatsapp' ? 'whatsapp' : 'sms';
      return this.sendMessage({ channel, to: verification.to, from: undefined, messagingServiceSid: undefined, body: content, segments: 1, ...flags }, dispatch);
    }
    const { store: openStore, policy } = this.options;
    const store = await openStore();
    const at = this.now();
    const prepared: PreparedSend = {
      subject: { kind: 'message', to: verification.to, from: undefined, messagingServiceSid: undefined, content: undefined, cost: verification.estimatedCost, ...flags },
      at,
      segments: 1,
      warnings: [],
    };
    const keys = policy.ledgerKeys(prepared);
    if (policy.dryRun) return { dryRun: true, decision: policy.decideMessage(prepared, await store.readLedger(keys)) };
    const context = currentCallContext();
    let decision: MessageDecision | undefined;
    const reservation = await store.reserveSend(keys, (ledger) => {
      decision = policy.decideMessage(prepared, ledger);
      return this.reservationRequest({ kind: 'message', channel: 'email', to: verification.to, from: null, sendAt: undefined, fallbackTool: 'start_verification' }, prepared, decision, context);
    });
    if (context) context.auditedSend = true;
    const result = await this.dispatchAndSettle(store, reservation, dispatch);
    return { dryRun: false, decision: decision!, result, reservation };
  }

  /**
   * The opt-out check once more, now that the reservation is on disk: a STOP committed
   * since the first look (while the policy was prepared, or while the reservation waited
   * for the write lock) still wins, so nothing goes out to a person whose STOP was
   * acknowledged before this send was reserved. Refused: every reservation is released
   * (nothing went out, nothing counts) and the refusal is thrown.
   */
  private async releaseIfOptedOut(store: Store, reservations: Reservation[], recipients: Array<Pick<OutgoingMessage, 'to' | 'from' | 'messagingServiceSid'>>, kind: 'message' | 'call'): Promise<void> {
    try {
      for (const recipient of recipients) await this.options.optOuts.refuseIfOptedOut(store, recipient, kind);
    } catch (error) {
      await this.releaseAll(store, reservations, error instanceof Error ? error.message : String(error));
      throw error;
    }
  }

  private async releaseAll(store: Store, reservations: Reservation[], why: string): Promise<void> {
    const settlement = { state: 'released' as const, error: why, at: this.now() };
    await Promise.all(reservations.map((r) => this.settle(store, r, settlement)));
  }

  /** What one send reserves: its kind, channel, recipient and sender, and the audit intent. */
  private reservationRequest(send: ReservedSend, prepared: PreparedSend, decision: MessageDecision | CallDecision, context: CallContext | undefined) {
    return {
      kind: send.kind,
      channel: send.channel,
      to: strip(send.to),
      from: send.from,
      bodyHash: prepared.subject.content ? hashBody(prepared.subject.content) : null,
      estimatedCost: decision.estimatedCost,
      at: prepared.at,
      sendAt: send.sendAt ?? null,
      audit: {
        at: prepared.at,
        tool: context?.tool ?? send.fallbackTool,
        arguments: redactArguments(context?.args ?? { to: send.to }, this.options.redactBodies),
        clientName: context?.clientName ?? null,
        sessionId: context?.sessionId ?? null,
      },
    };
  }

  /** Twilio's answer settles the reservation: sent, released (refused: nothing went out) or unknown. */
  private async dispatchAndSettle<T extends { sid: string }>(
    store: Store,
    reservation: Reservation,
    dispatch: () => Promise<T>,
    alsoSettle: (settlement: Parameters<Store['settleSend']>[1]) => Promise<unknown> = async () => {},
  ): Promise<T> {
    let result: T;
    try {
      result = await dispatch();
    } catch (error) {
      const unknown = error instanceof ToolFailure && error.outcomeUnknown;
      const message = error instanceof Error ? error.message : String(error);
      const settlement = { state: unknown ? ('outcome_unknown' as const) : ('released' as const), error: message, at: this.now() };
      await Promise.all([this.settle(store, reservation, settlement), alsoSettle(settlement)]);
      if (unknown) {
        const call = reservation.kind === 'call';
        throw new ToolFailure({
          message: error.message,
          outcomeUnknown: true,
          nextStep: call
            ? `Before calling again, call list_calls with to="${reservation.to}" and started_after ${reservation.at.toISOString()}; call again only if there is none. ` +
              'Until the duplicate window passes, the same call to this number is refused as a possible duplicate (allow_duplicate: true overrides).'
            : `Before sending again, call list_messages with to="${reservation.to}" and look for a message created after ${reservation.at.toISOString()}; resend only if there is none. ` +
              'Until the duplicate window passes, the same text to this number is refused as a possible duplicate (allow_duplicate: true overrides).',
          extra: { to: reservation.to, attempted_at: reservation.at.toISOString(), attempt: reservation.id },
        });
      }
      throw error;
    }
    // The message is out: a bookkeeping failure must not turn that into an error result.
    const sent = { state: 'sent' as const, sid: result.sid, at: this.now() };
    await Promise.all([this.settle(store, reservation, sent), alsoSettle(sent)]);
    return result;
  }

  /** Never throws: a settlement that cannot be written is logged (the row stays in flight, the safe side). */
  private async settle(store: Store, reservation: Reservation, settlement: Parameters<Store['settleSend']>[1]): Promise<void> {
    try {
      await store.settleSend(reservation.id, settlement);
    } catch (e) {
      log.error(`could not settle send attempt #${reservation.id}: ${e instanceof Error ? e.message : String(e)} (it stays in flight and counts as outcome_unknown after a restart)`);
    }
  }
}

export const processIsAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * At start: sends left in flight by a process that died are `outcome_unknown` from now on
 * (they keep counting against caps and duplicates). Said once on stderr, with what to check.
 */
export async function recoverInterruptedSends(store: Store, at: Date = new Date()): Promise<Reservation[]> {
  const orphans = await store.recoverInFlight(processIsAlive, at);
  if (orphans.length > 0) {
    const list = orphans
      .slice(0, 5)
      .map((r) => `#${r.id} ${r.kind} to ${r.to} at ${r.at.toISOString()}`)
      .join('; ');
    log.warn(
      `${orphans.length} send${orphans.length === 1 ? '' : 's'} left in flight by a server that stopped now ${orphans.length === 1 ? 'has' : 'have'} an unknown outcome ` +
        `(${list}${orphans.length > 5 ? '; …' : ''}). They may have gone out: check list_messages (or list_calls for a call) before resending; get_audit_log shows them as outcome_unknown.`,
    );
  }
  return orphans;
}
