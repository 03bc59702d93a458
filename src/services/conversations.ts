/**
 * Twilio Conversations: one thread across SMS, WhatsApp, Messenger and in-app chat. A
 * message posted to a conversation reaches every SMS and WhatsApp participant, so it goes
 * through the send pipeline for each of them (opt-outs and policy apply per person; one
 * refusal refuses the message). No MCP types here.
 */
import { canonicalPhoneAddress } from '../domain/phone-address.js';
import { ToolFailure } from '../errors/tool-failure.js';
import type { ConversationMessageRecord, ConversationRecord, ParticipantRecord } from '../gateway/conversations-gateway.js';
import type { TwilioGateway } from '../gateway/twilio-gateway.js';
import type { PipelineMessage, SendPipeline } from '../pipeline/send-pipeline.js';

const conversationView = (c: ConversationRecord) => ({
  conversation_sid: c.sid,
  friendly_name: c.friendlyName,
  unique_name: c.uniqueName,
  state: c.state,
  date_created: c.dateCreated?.toISOString() ?? null,
});
const participantView = (p: ParticipantRecord) => ({ participant_sid: p.sid, identity: p.identity, address: p.address, proxy_address: p.proxyAddress });
const messageView = (m: ConversationMessageRecord) => ({ message_sid: m.sid, index: m.index, author: m.author, body: m.body, date_created: m.dateCreated?.toISOString() ?? null });

export interface ConversationDefaults {
  smsProxy: string | undefined;
  whatsappProxy: string | undefined;
}

export class ConversationsService {
  constructor(
    private readonly gateway: TwilioGateway,
    private readonly pipeline: SendPipeline,
    private readonly defaults: ConversationDefaults,
  ) {}

  async manage(input: { action: 'create' | 'add_participant' | 'close'; conversation?: string; friendly_name?: string; unique_name?: string; address?: string; proxy_address?: string; identity?: string }) {
    if (input.action === 'create') {
      return { ...conversationView(await this.gateway.conversations.createConversation({ friendlyName: input.friendly_name, uniqueName: input.unique_name })), next_step: 'Add participants with action add_participant.' };
    }
    if (!input.conversation) throw new ToolFailure({ message: `action "${input.action}" needs conversation (CH… or its unique name).`, nextStep: 'list_conversations shows them.' });
    if (input.action === 'close') return conversationView(await this.gateway.conversations.closeConversation(input.conversation));
    return { conversation_sid: input.conversation, ...participantView(await this.addParticipant(input.conversation, input)) };
  }

  private async addParticipant(conversation: string, input: { address?: string; proxy_address?: string; identity?: string }): Promise<ParticipantRecord> {
    if ((input.address === undefined) === (input.identity === undefined)) {
      throw new ToolFailure({
        message: 'A participant is either an address (SMS +E164, whatsapp:+E164, messenger:…) or a chat identity: give exactly one.',
        nextStep: 'For a phone, pass address (and proxy_address, your number; default TWILIO_PHONE_NUMBER).',
      });
    }
    if (input.identity) return this.gateway.conversations.addParticipant(conversation, { identity: input.identity });
    const raw = input.address!.trim();
    if (/^messenger:/i.test(raw)) {
      if (!input.proxy_address) throw new ToolFailure({ message: 'A Messenger participant needs proxy_address (messenger:<your page id>).', nextStep: 'Pass proxy_address.' });
      return this.gateway.conversations.addParticipant(conversation, { address: raw, proxyAddress: input.proxy_address });
    }
    const address = canonicalPhoneAddress(raw);
    if (!address) throw new ToolFailure({ message: `"${raw}" is not a phone address (E.164 or whatsapp:+E164) or a messenger: address.`, nextStep: 'Use the E.164 form, e.g. +14155550123.' });
    const whatsapp = address.startsWith('whatsapp:');
    const proxyRaw = input.proxy_address ?? (whatsapp ? this.defaults.whatsappProxy : this.defaults.smsProxy);
    const proxy = proxyRaw ? canonicalPhoneAddress(whatsapp && !proxyRaw.startsWith('whatsapp:') ? `whatsapp:${proxyRaw}` : proxyRaw) : undefined;
    if (!proxy) throw new ToolFailure({ message: 'No proxy_address: the number of yours this participant texts with.', nextStep: 'Pass proxy_address, or set TWILIO_PHONE_NUMBER (TWILIO_WHATSAPP_NUMBER for WhatsApp).' });
    return this.gateway.conversations.addParticipant(conversation, { address, proxyAddress: proxy });
  }

  async list(input: { limit?: number }) {
    return { conversations: (await this.gateway.conversations.listConversations(input.limit ?? 20)).map(conversationView) };
  }

  async send(input: { conversation: string; body: string; author?: string; transactional?: boolean; allow_duplicate?: boolean }) {
    const participants = await this.gateway.conversations.listParticipants(input.conversation);
    const phones: PipelineMessage[] = participants
      .filter((p) => p.address && p.proxyAddress && /^(whatsapp:)?\+\d+$/.test(p.address) && p.address !== input.author)
      .map((p) => ({
        channel: p.address!.startsWith('whatsapp:') ? ('whatsapp' as const) : ('sms' as const),
        to: p.address!,
        from: p.proxyAddress!,
        messagingServiceSid: undefined,
        body: input.body,
        transactional: input.transactional,
        allowDuplicate: input.allow_duplicate,
      }));
    const outcome = await this.pipeline.sendToMany(phones, () => this.gateway.conversations.sendMessage(input.conversation, { body: input.body, author: input.author }));
    if (outcome.dryRun) return { dry_run: true as const, conversation_sid: input.conversation, reaches: phones.map((p) => p.to), note: 'Dry run: nothing was posted.' };
    return { conversation_sid: input.conversation, ...messageView(outcome.result), reaches: phones.map((p) => p.to) };
  }

  async listMessages(input: { conversation: string; limit?: number }) {
    const messages = await this.gateway.conversations.listMessages(input.conversation, input.limit ?? 20);
    return { conversation_sid: input.conversation, messages: messages.map(messageView), untrusted: true as const };
  }
}
