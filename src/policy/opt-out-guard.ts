/**
 * Refuses any send to a person who opted out, before Twilio is called — the same refusal
 * Twilio would give (21610), without spending a request or risking a fine.
 *
 * Scope: by default the whole account. A person who texted STOP to any of your numbers or
 * Messaging Services is not messaged again by any of them until they opt back in — what
 * TCPA and CTIA guidance expect, and what people mean by STOP. `opt_out_scope: "sender"`
 * restores per-sender scoping (the sender's number, its service, or every sender '*').
 * A person is one person across channels: an SMS STOP blocks WhatsApp and the reverse.
 */
import { ToolFailure } from '../errors/tool-failure.js';
import type { OptOut, Store } from '../store/store.js';
import type { OutgoingMessage } from './send-guard.js';

export type OptOutScope = 'account' | 'sender';

const strip = (n: string) => n.replace(/^whatsapp:/i, '');

/** A stored keyword is shown only if it looks like one: inbound text never reaches a refusal. */
const SHOWABLE_KEYWORD = /^[\p{L}]{1,16}$/u;

export class OptOutGuard {
  constructor(private readonly scope: OptOutScope = 'account') {}

  /** The opt-out that blocks this send, if any (synchronous: runs inside the reserving transaction). */
  blockingOptOut(store: Pick<Store, 'isOptedOut' | 'findAnyOptOut'>, message: Pick<OutgoingMessage, 'to' | 'from' | 'messagingServiceSid'>): OptOut | undefined {
    const person = strip(message.to);
    const recipients = [person, `whatsapp:${person}`];
    if (this.scope === 'account') return store.findAnyOptOut(recipients);
    const senders = [message.messagingServiceSid, message.from, message.from && strip(message.from)].filter((s): s is string => Boolean(s));
    for (const recipient of recipients) {
      const optOut = store.isOptedOut(senders, recipient);
      if (optOut) return optOut;
    }
    return undefined;
  }

  refuseIfOptedOut(store: Pick<Store, 'isOptedOut' | 'findAnyOptOut'>, message: Pick<OutgoingMessage, 'to' | 'from' | 'messagingServiceSid'>): void {
    const optOut = this.blockingOptOut(store, message);
    if (!optOut) return;
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
}
