/**
 * Refuses any send to a recipient who opted out of the sender (its number or its
 * messaging service) or of every sender, before Twilio is called — the same refusal
 * Twilio would give (21610), without spending a request or risking a fine.
 */
import { ToolFailure } from '../errors/tool-failure.js';
import type { Store } from '../store/store.js';
import type { OutgoingMessage, SendGuard } from './send-guard.js';

export class OptOutGuard implements SendGuard {
  constructor(private readonly store: () => Promise<Store>) {}

  async checkMessage(message: OutgoingMessage): Promise<void> {
    const strip = (n: string) => n.replace(/^whatsapp:/, '');
    const senders = [message.messagingServiceSid, message.from, message.from && strip(message.from)].filter((s): s is string => Boolean(s));
    const recipients = [...new Set([message.to, strip(message.to)])];
    const store = await this.store();
    for (const recipient of recipients) {
      const optOut = store.isOptedOut(senders, recipient);
      if (optOut) {
        throw new ToolFailure({
          message: `${message.to} has opted out${optOut.keyword ? ` (replied ${optOut.keyword})` : ''} of messages from ${optOut.sender === '*' ? 'every sender' : optOut.sender}; nothing was sent.`,
          twilioCode: 21610,
          nextStep: 'Do not message this person. They can opt back in by texting START; an operator can record documented re-consent with remove_opt_out.',
        });
      }
    }
  }
}
