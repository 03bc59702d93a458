/**
 * Refuses any send to a person who opted out, before Twilio is called — the same refusal
 * Twilio would give (21610), without spending a request or risking a fine.
 *
 * Scope: by default the whole account. A person who texted STOP to any of your numbers or
 * Messaging Services is not messaged again by any of them until they opt back in — what
 * TCPA and CTIA guidance expect, and what people mean by STOP. `opt_out_scope: "sender"`
 * restores per-sender scoping (the sender's number, its service, or every sender '*').
 * A person is one person across messaging channels: an SMS STOP blocks WhatsApp and the reverse.
 *
 * Calls have their own do-not-call list (opt-outs with channel `voice` or `all`): an SMS STOP
 * says "stop texting me", not "never call me", so it blocks calls only when the operator's
 * policy says so (`calls_honor_sms_opt_outs`).
 */
import { ToolFailure } from '../errors/tool-failure.js';
import { BLOCKS_CALLS, BLOCKS_MESSAGES, type OptOut, type OptOutChannel, type Store } from '../store/store.js';
import type { OutgoingMessage } from './send-guard.js';

export type OptOutScope = 'account' | 'sender';

const strip = (n: string) => n.replace(/^whatsapp:/i, '');

/** A stored keyword is shown only if it looks like one: inbound text never reaches a refusal. */
const SHOWABLE_KEYWORD = /^[\p{L}]{1,16}$/u;

export type SendKind = 'message' | 'call';

export interface OptOutGuardOptions {
  /** An SMS opt-out (a STOP reply) also blocks calls. Default false. */
  callsHonorSmsOptOuts?: boolean;
}

type Recipient = Pick<OutgoingMessage, 'to' | 'from' | 'messagingServiceSid'>;

export class OptOutGuard {
  private readonly callChannels: readonly OptOutChannel[];

  constructor(
    private readonly scope: OptOutScope = 'account',
    options: OptOutGuardOptions = {},
  ) {
    this.callChannels = options.callsHonorSmsOptOuts ? ['sms', ...BLOCKS_CALLS] : BLOCKS_CALLS;
  }

  /** The opt-out that blocks this send, if any. */
  async blockingOptOut(store: Pick<Store, 'isOptedOut' | 'findAnyOptOut'>, message: Recipient, kind: SendKind = 'message'): Promise<OptOut | undefined> {
    const channels = kind === 'call' ? this.callChannels : BLOCKS_MESSAGES;
    const person = strip(message.to);
    const recipients = [person, `whatsapp:${person}`];
    if (this.scope === 'account') return store.findAnyOptOut(recipients, channels);
    const senders = [message.messagingServiceSid, message.from, message.from && strip(message.from)].filter((s): s is string => Boolean(s));
    for (const recipient of recipients) {
      const optOut = await store.isOptedOut(senders, recipient, channels);
      if (optOut) return optOut;
    }
    return undefined;
  }

  /** Throws the refusal (a ToolFailure, 21610 for messages) when an opt-out blocks this send. */
  async refuseIfOptedOut(store: Pick<Store, 'isOptedOut' | 'findAnyOptOut'>, message: Recipient, kind: SendKind = 'message'): Promise<void> {
    const optOut = await this.blockingOptOut(store, message, kind);
    if (!optOut) return;
    if (kind === 'call') this.refuseCall(message, optOut);
    const how = optOut.source === 'manual' ? ' (recorded by an operator)' : optOut.keyword && SHOWABLE_KEYWORD.test(optOut.keyword) ? ` (replied ${optOut.keyword})` : ' (replied with an opt-out keyword)';
    const from = optOut.sender === '*' ? 'every sender' : optOut.sender;
    throw new ToolFailure({
      message:
        this.scope === 'account'
          ? `${message.to} has opted out${how} of messages from ${from}; opt-outs cover the whole account, so nothing was sent.`
          : `${message.to} has opted out${how} of messages from ${from}; nothing was sent.`,
      twilioCode: 21610,
      nextStep: 'Do not message this person. They can opt back in by texting START; an operator can record documented re-consent with remove_opt_out.',
      extra: { rule: 'opt_out', opted_out_since: optOut.createdAt.toISOString() },
    });
  }

  private refuseCall(call: Recipient, optOut: OptOut): never {
    const fromSms = optOut.channel === 'sms';
    const from = optOut.sender === '*' ? 'every number' : optOut.sender;
    const how = optOut.source === 'manual' ? 'an operator recorded it' : 'they replied with an opt-out keyword';
    throw new ToolFailure({
      message: fromSms
        ? `${call.to} opted out of messages from ${from} (${how}), and this server's policy treats that as do-not-call too; no call was placed.`
        : `${call.to} is on the do-not-call list for ${from} (${how}); no call was placed.`,
      nextStep: fromSms
        ? 'Do not call this person. An operator can change calls_honor_sms_opt_outs in the policy, or record documented consent with remove_opt_out.'
        : 'Do not call this person. An operator can record documented consent with remove_opt_out (channel "voice").',
      extra: { rule: 'do_not_call', opted_out_since: optOut.createdAt.toISOString(), channel: optOut.channel },
    });
  }
}
