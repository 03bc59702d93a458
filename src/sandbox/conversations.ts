/**
 * Conversations v1 on the conversations host (`conversations.twilio.com/v1`):
 * Conversations, their Participants and Messages, and the account-level webhook
 * configuration. v1 wire format: ISO 8601 dates without milliseconds, absolute URLs on
 * https://conversations.twilio.com, `meta` paging.
 *
 * A message added to a conversation reaches each SMS/WhatsApp participant (but its
 * author) as Twilio sends it: a message of the Messages store from the participant's
 * ProxyAddress (so `GET …/Messages.json` lists it, direction `outbound-api`, with its own
 * lifecycle and the magic-number and WhatsApp-window rules), and an entry in the device log.
 * Messenger participants are routed nowhere: the Messages store speaks phone numbers only.
 *
 * Post-event webhooks go to the configured PostWebhookUrl, signed, for the events named
 * in Filters. As on Twilio, actions over the REST API fire them only when the request has
 * `X-Twilio-Webhook-Enabled: true`; a simulated inbound SMS always does.
 *
 * Codes, from Twilio's error dictionary (Conversations section): 50204 neither Identity nor
 * a messaging binding · 50211 Identity together with a binding · 50407 invalid address ·
 * 50408 invalid proxy address · 50409 address equals proxy · 50411/50412 empty address /
 * proxy · 50413 proxy not the account's · 50414 address and proxy on different channels ·
 * 50416 (409) the address+proxy pair already bound in an open conversation · 50433 (409)
 * Identity already a participant · 50304 Attributes not JSON · 50341/50342 Messaging
 * Service SID malformed / not the account's · 50377 a closed conversation cannot change ·
 * 50378 bad State · 50384 a new conversation cannot start closed · 50390 UniqueName shaped
 * like a CH SID · 50353 (409) UniqueName taken · 50055 bad webhook Method · 50078 bad
 * PostWebhookUrl (also one the callback policy refuses) · 50365 unknown filter.
 */
import type { Account } from './account.js';
import { callbackRefusal, type CallbackPolicy } from './callback-policy.js';
import type { DeviceLog } from './device-log.js';
import type { MessageStore } from './messages.js';
import { isoSeconds } from './messaging-services.js';
import { paginateMeta } from './paging.js';
import type { Reply } from './router.js';
import { first, newSid, type Params, TwilioError } from './wire.js';

export const CONVERSATIONS_HOST = 'https://conversations.twilio.com';
/** The account's default Conversation Service (every conversation here lives in it). */
export const SANDBOX_CONVERSATION_SERVICE_SID = 'IS5a4db0c0000000000000000000000000';
/** The service's default conversation role, given to every participant. */
export const SANDBOX_PARTICIPANT_ROLE_SID = 'RL5a4db0c0000000000000000000000000';
/** The account's Facebook Messenger page, the only Messenger proxy the sandbox owns. */
export const SANDBOX_MESSENGER_PAGE = 'messenger:1500555000600';

export type ConversationState = 'active' | 'inactive' | 'closed';
export type BindingType = 'sms' | 'whatsapp' | 'messenger';
export type WebhookSource = 'API' | 'SMS' | 'WHATSAPP';

/** Twilio's post-event webhook names the configuration accepts; those in FIRED_EVENTS are sent. */
export const POST_EVENTS = [
  'onConversationAdded', 'onConversationUpdated', 'onConversationRemoved', 'onConversationStateUpdated',
  'onParticipantAdded', 'onParticipantUpdated', 'onParticipantRemoved',
  'onMessageAdded', 'onMessageUpdated', 'onMessageRemoved', 'onDeliveryUpdated', 'onUserAdded', 'onUserUpdated',
] as const;
const PRE_EVENTS = ['onConversationAdd', 'onConversationUpdate', 'onConversationRemove', 'onParticipantAdd', 'onParticipantUpdate', 'onParticipantRemove', 'onMessageAdd', 'onMessageUpdate', 'onMessageRemove', 'onUserUpdate'];
export type PostEvent = (typeof POST_EVENTS)[number];

export interface MessagingBinding {
  type: BindingType;
  address: string;
  proxyAddress: string;
}

export interface ConversationParticipant {
  sid: string;
  conversationSid: string;
  identity: string | null;
  attributes: string;
  binding: MessagingBinding | null;
  roleSid: string;
  dateCreated: Date;
  dateUpdated: Date;
}

/** One SMS/WhatsApp copy of a conversation message: the Messages-store SID, or the refusal. */
export interface Delivery {
  participantSid: string;
  messageSid: string | null;
  errorCode: number | null;
}

export interface ConversationMessage {
  sid: string;
  conversationSid: string;
  index: number;
  author: string;
  body: string;
  attributes: string;
  participantSid: string | null;
  dateCreated: Date;
  dateUpdated: Date;
  deliveries: Delivery[];
}

export interface Conversation {
  sid: string;
  uniqueName: string | null;
  friendlyName: string | null;
  attributes: string;
  state: ConversationState;
  messagingServiceSid: string;
  dateCreated: Date;
  dateUpdated: Date;
  nextIndex: number;
  participants: Map<string, ConversationParticipant>;
  messages: ConversationMessage[];
}

export interface ConversationsWebhookConfig {
  method: 'GET' | 'POST';
  filters: string[];
  preWebhookUrl: string | null;
  postWebhookUrl: string | null;
  target: 'webhook' | 'flex';
}

/** What the store needs from the webhook sender (WebhookSender fits). */
export interface ConversationsWebhookPoster {
  post(url: string, params: Record<string, string>): Promise<{ status: number | undefined; refused?: string }>;
}

export interface ConversationsDeps {
  account: Account;
  messages: MessageStore;
  devices: DeviceLog;
  webhooks: ConversationsWebhookPoster;
  callbackPolicy?: CallbackPolicy | undefined;
  now?: () => Date;
  log?: (line: string) => void;
}

export interface ConversationInboundFields {
  /** The person's address: `+1415…` (SMS) or `whatsapp:+1415…`. */
  from: string;
  /** The account's number the person wrote to (the participant's ProxyAddress). */
  proxy: string;
  body: string;
}

export interface ConversationInboundResult {
  conversationSid: string;
  /** The conversation message (IM…). */
  messageSid: string;
  /** The inbound SMS/WhatsApp as the Messages store recorded it (SM…). */
  smsSid: string;
  webhookUrl: string | null;
  webhookStatus: number | undefined;
  webhookRefused?: string;
}

/** The outcome of one post-event webhook, for the inbound simulator to report. */
interface Fired {
  url: string | null;
  status: number | undefined;
  refused?: string;
}

const E164 = /^\+[1-9]\d{1,14}$/;
const CONVERSATION_SID = /^CH[0-9a-fA-F]{32}$/;
const bad = (code: number, message: string, status = 400) => new TwilioError(status, code, message);
// v1 products name the resource without the version in a 404.
const notFound = (resource: string) => new TwilioError(404, 20404, `The requested resource ${resource} was not found`);
const notEmulated = (what: string) =>
  new TwilioError(501, 20501, `The sandbox does not emulate ${what} (see src/sandbox/README.md); test this request against Twilio.`);

function bindingTypeOf(address: string): BindingType | undefined {
  if (address.startsWith('whatsapp:')) return E164.test(address.slice('whatsapp:'.length)) ? 'whatsapp' : undefined;
  if (address.startsWith('messenger:')) return /^messenger:\S+$/.test(address) ? 'messenger' : undefined;
  return E164.test(address) ? 'sms' : undefined;
}

function jsonAttributes(form: Params): string | undefined {
  const attributes = first(form, 'Attributes');
  if (attributes === undefined) return undefined;
  try {
    JSON.parse(attributes);
  } catch {
    throw bad(50304, 'Attributes not valid JSON');
  }
  return attributes;
}

function importedDate(form: Params, name: string): Date | undefined {
  const value = first(form, name);
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(t)) throw bad(20001, `Invalid ${name}: ${value}`);
  return new Date(t);
}

export class ConversationStore {
  /** Creation order. */
  private readonly conversations = new Map<string, Conversation>();
  readonly webhookConfig: ConversationsWebhookConfig = { method: 'POST', filters: [], preWebhookUrl: null, postWebhookUrl: null, target: 'webhook' };
  readonly now: () => Date;
  private readonly log: (line: string) => void;

  constructor(private readonly deps: ConversationsDeps) {
    this.now = deps.now ?? (() => new Date());
    this.log = deps.log ?? (() => {});
  }

  get accountSid(): string {
    return this.deps.account.sid;
  }

  // ── Conversations ─────────────────────────────────────────────────────────

  list(): Conversation[] {
    return [...this.conversations.values()];
  }

  /** By CH… SID or by UniqueName, as Twilio's path accepts either. */
  require(sidOrUniqueName: string): Conversation {
    const found = this.conversations.get(sidOrUniqueName) ?? this.list().find((c) => c.uniqueName === sidOrUniqueName);
    if (!found) throw notFound(`/Conversations/${sidOrUniqueName}`);
    return found;
  }

  create(form: Params, webhookEnabled = false): Conversation {
    const state = first(form, 'State');
    if (state === 'closed') throw bad(50384, "Initial state can't be 'closed'");
    const now = this.now();
    const conversation: Conversation = {
      sid: newSid('CH'),
      uniqueName: null,
      friendlyName: null,
      attributes: '{}',
      state: 'active',
      messagingServiceSid: this.deps.account.messagingServiceSid,
      dateCreated: importedDate(form, 'DateCreated') ?? now,
      dateUpdated: importedDate(form, 'DateUpdated') ?? importedDate(form, 'DateCreated') ?? now,
      nextIndex: 0,
      participants: new Map(),
      messages: [],
    };
    this.applyConversationParams(conversation, form);
    this.conversations.set(conversation.sid, conversation);
    if (webhookEnabled) void this.fire('onConversationAdded', conversationEventParams(conversation), 'API');
    return conversation;
  }

  update(sidOrUniqueName: string, form: Params, webhookEnabled = false): Conversation {
    const conversation = this.require(sidOrUniqueName);
    if (conversation.state === 'closed') throw bad(50377, "Can't update conversation as it's in final closed state");
    const draft: Conversation = { ...conversation };
    this.applyConversationParams(draft, form);
    const from = conversation.state;
    Object.assign(conversation, draft, { dateUpdated: importedDate(form, 'DateUpdated') ?? this.now() });
    if (webhookEnabled) {
      void this.fire('onConversationUpdated', { ...conversationEventParams(conversation), DateUpdated: isoSeconds(conversation.dateUpdated) }, 'API');
      if (from !== conversation.state) void this.fireStateUpdated(conversation, from, 'API');
    }
    return conversation;
  }

  delete(sidOrUniqueName: string, webhookEnabled = false): void {
    const conversation = this.require(sidOrUniqueName);
    this.conversations.delete(conversation.sid);
    if (webhookEnabled) void this.fire('onConversationRemoved', { ...conversationEventParams(conversation), DateRemoved: isoSeconds(this.now()) }, 'API');
  }

  private applyConversationParams(c: Conversation, form: Params): void {
    for (const name of form.keys()) {
      if (name.startsWith('Timers.')) throw notEmulated('conversation timers (Timers.Inactive, Timers.Closed)');
      if (name.startsWith('Bindings.')) throw notEmulated('email bindings of a conversation (Bindings.Email.*)');
    }
    const state = first(form, 'State');
    if (state !== undefined) {
      if (state !== 'active' && state !== 'inactive' && state !== 'closed') throw bad(50378, "'State' parameter value is invalid");
      c.state = state;
    }
    const uniqueName = first(form, 'UniqueName');
    if (uniqueName !== undefined) {
      if (uniqueName === '') c.uniqueName = null;
      else {
        if (CONVERSATION_SID.test(uniqueName)) throw bad(50390, 'Unique name should not match conversation sid pattern');
        if (this.list().some((other) => other.sid !== c.sid && other.uniqueName === uniqueName)) {
          throw bad(50353, 'Conversation with provided unique name already exists', 409);
        }
        c.uniqueName = uniqueName;
      }
    }
    const friendlyName = first(form, 'FriendlyName');
    if (friendlyName !== undefined) c.friendlyName = friendlyName === '' ? null : friendlyName;
    c.attributes = jsonAttributes(form) ?? c.attributes;
    const service = first(form, 'MessagingServiceSid');
    if (service !== undefined) {
      if (!/^MG[0-9a-fA-F]{32}$/.test(service)) throw bad(50341, 'Invalid messaging service SID');
      if (service !== this.deps.account.messagingServiceSid) throw bad(50342, 'Messaging service does not belong to account');
      c.messagingServiceSid = service;
    }
  }

  // ── Participants ──────────────────────────────────────────────────────────

  requireParticipant(conversationSid: string, participantSid: string): ConversationParticipant {
    const conversation = this.require(conversationSid);
    const participant = conversation.participants.get(participantSid);
    if (!participant) throw notFound(`/Conversations/${conversationSid}/Participants/${participantSid}`);
    return participant;
  }

  addParticipant(conversationSid: string, form: Params, webhookEnabled = false): ConversationParticipant {
    const conversation = this.require(conversationSid);
    if (conversation.state === 'closed') throw bad(50377, "Can't update conversation as it's in final closed state");
    if (first(form, 'MessagingBinding.ProjectedAddress') !== undefined) throw notEmulated('group texting (MessagingBinding.ProjectedAddress)');
    const identity = first(form, 'Identity');
    const address = first(form, 'MessagingBinding.Address');
    const proxy = first(form, 'MessagingBinding.ProxyAddress');
    const hasBinding = address !== undefined || proxy !== undefined;
    if (identity !== undefined && identity !== '' && hasBinding) throw bad(50211, 'Identity parameter not acceptable for this Participant');
    let binding: MessagingBinding | null = null;
    if (hasBinding) binding = this.validateBinding(address?.trim(), proxy?.trim());
    else if (identity === undefined || identity === '') throw bad(50204, 'Identity not provided');
    else if ([...conversation.participants.values()].some((p) => p.identity === identity)) throw bad(50433, 'Participant already exists', 409);

    if (binding) {
      // The pair routes inbound messages, so it may belong to one open conversation only.
      const holder = this.list().find(
        (c) => c.state !== 'closed' && [...c.participants.values()].some((p) => p.binding?.address === binding!.address && p.binding.proxyAddress === binding!.proxyAddress),
      );
      if (holder) throw bad(50416, `A binding for this participant and proxy address already exists in Conversation ${holder.sid}`, 409);
    }
    const roleSid = first(form, 'RoleSid');
    if (roleSid !== undefined && !/^RL[0-9a-fA-F]{32}$/.test(roleSid)) throw bad(50100, 'Role not found');
    const now = this.now();
    const participant: ConversationParticipant = {
      sid: newSid('MB'),
      conversationSid: conversation.sid,
      identity: binding ? null : identity!,
      attributes: jsonAttributes(form) ?? '{}',
      binding,
      roleSid: roleSid ?? SANDBOX_PARTICIPANT_ROLE_SID,
      dateCreated: importedDate(form, 'DateCreated') ?? now,
      dateUpdated: importedDate(form, 'DateUpdated') ?? importedDate(form, 'DateCreated') ?? now,
    };
    conversation.participants.set(participant.sid, participant);
    if (webhookEnabled) void this.fire('onParticipantAdded', participantEventParams(participant), 'API');
    return participant;
  }

  removeParticipant(conversationSid: string, participantSid: string, webhookEnabled = false): void {
    const participant = this.requireParticipant(conversationSid, participantSid);
    this.require(conversationSid).participants.delete(participant.sid);
    if (webhookEnabled) void this.fire('onParticipantRemoved', { ...participantEventParams(participant), DateRemoved: isoSeconds(this.now()) }, 'API');
  }

  private validateBinding(address: string | undefined, proxy: string | undefined): MessagingBinding {
    if (address === undefined || address === '') throw bad(50411, 'Participant address is empty');
    if (proxy === undefined || proxy === '') throw bad(50412, 'Participant proxy address is empty');
    const type = bindingTypeOf(address);
    if (!type) throw bad(50407, 'Invalid messaging binding address');
    const proxyType = bindingTypeOf(proxy);
    if (!proxyType) throw bad(50408, 'Invalid participant proxy address');
    if (type !== proxyType) throw bad(50414, 'Participant address type does not match proxy address type');
    if (address === proxy) throw bad(50409, 'Participant address equals proxy address');
    const owned = type === 'messenger' ? proxy === SANDBOX_MESSENGER_PAGE : this.deps.account.numbers.some((n) => n.phoneNumber === proxy.replace(/^whatsapp:/, ''));
    if (!owned) throw bad(50413, 'Account is not authorized to use proxy address');
    return { type, address, proxyAddress: proxy };
  }

  // ── Messages ──────────────────────────────────────────────────────────────

  requireMessage(conversationSid: string, messageSid: string): ConversationMessage {
    const conversation = this.require(conversationSid);
    const message = conversation.messages.find((m) => m.sid === messageSid);
    if (!message) throw notFound(`/Conversations/${conversationSid}/Messages/${messageSid}`);
    return message;
  }

  addMessage(conversationSid: string, form: Params, webhookEnabled = false): ConversationMessage {
    const conversation = this.require(conversationSid);
    if (first(form, 'MediaSid') !== undefined) throw notEmulated('media messages in Conversations (MediaSid; the sandbox has no Media Content Service)');
    if (first(form, 'ContentSid') !== undefined || first(form, 'ContentVariables') !== undefined) throw notEmulated('content templates in Conversations (ContentSid)');
    const body = first(form, 'Body') ?? '';
    if (body === '') throw bad(50503, 'Message body not provided');
    const { message } = this.append(conversation, {
      author: first(form, 'Author') || 'system',
      body,
      attributes: jsonAttributes(form) ?? '{}',
      dateCreated: importedDate(form, 'DateCreated'),
      source: 'API',
      webhookEnabled,
    });
    return message;
  }

  removeMessage(conversationSid: string, messageSid: string, webhookEnabled = false): void {
    const conversation = this.require(conversationSid);
    const message = this.requireMessage(conversationSid, messageSid);
    conversation.messages.splice(conversation.messages.indexOf(message), 1);
    if (webhookEnabled) void this.fire('onMessageRemoved', { ...messageEventParams(conversation, message), DateRemoved: isoSeconds(this.now()) }, 'API');
  }

  /**
   * A person's SMS/WhatsApp to the account's number `proxy`: lands in the open
   * conversation that binds `from` to that proxy (404/20404 when none does), authored by the
   * address, copied to the other SMS/WhatsApp participants, and announced by onMessageAdded.
   */
  async simulateInbound(fields: ConversationInboundFields): Promise<ConversationInboundResult> {
    const from = fields.from.trim();
    const proxy = fields.proxy.trim();
    let found: { conversation: Conversation; participant: ConversationParticipant } | undefined;
    for (const conversation of this.list()) {
      if (conversation.state === 'closed') continue;
      const participant = [...conversation.participants.values()].find((p) => p.binding?.address === from && p.binding.proxyAddress === proxy);
      if (participant) found = { conversation, participant };
    }
    if (!found) throw new TwilioError(404, 20404, `No open conversation has a participant ${from} with proxy address ${proxy}`);
    const { conversation, participant } = found;
    const sms = this.deps.messages.createInbound({ from, to: proxy, body: fields.body, mediaUrls: [], messagingServiceSid: conversation.messagingServiceSid });
    const { message, fired } = this.append(conversation, {
      author: from,
      body: fields.body,
      attributes: '{}',
      dateCreated: undefined,
      source: participant.binding!.type === 'whatsapp' ? 'WHATSAPP' : 'SMS',
      webhookEnabled: true,
    });
    const outcome = await fired;
    return {
      conversationSid: conversation.sid,
      messageSid: message.sid,
      smsSid: sms.sid,
      webhookUrl: outcome.url,
      webhookStatus: outcome.status,
      ...(outcome.refused !== undefined && { webhookRefused: outcome.refused }),
    };
  }

  private append(
    conversation: Conversation,
    input: { author: string; body: string; attributes: string; dateCreated: Date | undefined; source: WebhookSource; webhookEnabled: boolean },
  ): { message: ConversationMessage; fired: Promise<Fired> } {
    if (conversation.state === 'closed') throw bad(50377, "Can't update conversation as it's in final closed state");
    const now = this.now();
    const participants = [...conversation.participants.values()];
    const author = participants.find((p) => p.identity === input.author || p.binding?.address === input.author);
    const message: ConversationMessage = {
      sid: newSid('IM'),
      conversationSid: conversation.sid,
      index: conversation.nextIndex++,
      author: input.author,
      body: input.body,
      attributes: input.attributes,
      participantSid: author?.sid ?? null,
      dateCreated: input.dateCreated ?? now,
      dateUpdated: input.dateCreated ?? now,
      deliveries: [],
    };
    conversation.messages.push(message);
    for (const p of participants) {
      if (!p.binding || p.binding.type === 'messenger' || p.sid === author?.sid) continue;
      message.deliveries.push(this.deliver(p, p.binding, input.body, now));
    }
    // Twilio reactivates an inactive conversation when a message arrives in it.
    const from = conversation.state;
    if (from === 'inactive') conversation.state = 'active';
    conversation.dateUpdated = now;
    let fired: Promise<Fired> = Promise.resolve({ url: null, status: undefined });
    if (input.webhookEnabled) {
      fired = this.fire('onMessageAdded', messageEventParams(conversation, message), input.source);
      if (from !== conversation.state) void this.fireStateUpdated(conversation, from, undefined);
    }
    return { message, fired };
  }

  /** One SMS/WhatsApp copy, through the Messages store as any send; a refusal is kept, not thrown. */
  private deliver(participant: ConversationParticipant, binding: MessagingBinding, body: string, at: Date): Delivery {
    const form: Params = new Map([['From', [binding.proxyAddress]], ['To', [binding.address]], ['Body', [body]]]);
    try {
      const sent = this.deps.messages.create(form);
      this.deps.devices.record(binding.address, { kind: binding.type === 'whatsapp' ? 'whatsapp' : 'sms', from: binding.proxyAddress, body: sent.body, at });
      return { participantSid: participant.sid, messageSid: sent.sid, errorCode: null };
    } catch (error) {
      if (!(error instanceof TwilioError)) throw error;
      this.log(`conversation message to ${binding.address} not sent: ${error.code} ${error.message}`);
      return { participantSid: participant.sid, messageSid: null, errorCode: error.code };
    }
  }

  /** The delivery summary Twilio gives a message with non-chat recipients; null without any. */
  deliverySummary(message: ConversationMessage) {
    if (message.deliveries.length === 0) return null;
    const statuses = message.deliveries.map((d) => (d.messageSid ? (this.deps.messages.get(d.messageSid)?.status ?? 'failed') : 'failed'));
    const share = (wanted: string[]) => {
      const n = statuses.filter((s) => wanted.includes(s)).length;
      return n === 0 ? 'none' : n === statuses.length ? 'all' : 'some';
    };
    return {
      total: statuses.length,
      sent: share(['sent', 'delivered', 'read']),
      delivered: share(['delivered', 'read']),
      read: share(['read']),
      undelivered: share(['undelivered']),
      failed: share(['failed']),
    };
  }

  // ── Webhooks ──────────────────────────────────────────────────────────────

  /** POST /v1/Configuration/Webhooks: the account-level (global) webhook target and filters. */
  configureWebhooks(form: Params): ConversationsWebhookConfig {
    const draft = structuredClone(this.webhookConfig);
    const method = first(form, 'Method');
    if (method !== undefined) {
      const upper = method.toUpperCase();
      if (upper !== 'GET' && upper !== 'POST') throw bad(50055, 'Invalid webhook method');
      if (upper === 'GET') throw notEmulated('GET conversation webhooks (Method=GET); the sandbox POSTs them');
      draft.method = upper;
    }
    const target = first(form, 'Target');
    if (target !== undefined) {
      if (target === 'flex') throw notEmulated('Flex as the conversations webhook target');
      if (target !== 'webhook') throw bad(50364, 'Invalid conversation webhook type');
    }
    const pre = first(form, 'PreWebhookUrl');
    if (pre !== undefined && pre !== '') throw notEmulated('pre-event conversation webhooks (PreWebhookUrl)');
    if (pre === '') draft.preWebhookUrl = null;
    const post = first(form, 'PostWebhookUrl');
    if (post !== undefined) {
      if (post === '') draft.postWebhookUrl = null;
      else {
        const why = /^https?:\/\/[^\s/?#]+\S*$/i.test(post) ? callbackRefusal(post, this.deps.callbackPolicy) : 'it is not an http(s) URL';
        if (why) throw bad(50078, `Invalid post-webhook url ${post}: ${why}`);
        draft.postWebhookUrl = post;
      }
    }
    const filters = form.get('Filters');
    if (filters !== undefined) {
      const names = filters.filter((f) => f !== '');
      const unknown = names.find((f) => !(POST_EVENTS as readonly string[]).includes(f) && !PRE_EVENTS.includes(f));
      if (unknown !== undefined) throw bad(50365, `Invalid conversation webhook filter: ${unknown}`);
      draft.filters = [...new Set(names)];
    }
    Object.assign(this.webhookConfig, draft);
    return this.webhookConfig;
  }

  /** For the embedder: the same as POST /v1/Configuration/Webhooks. */
  configure(settings: { postWebhookUrl?: string | null; filters?: string[] }): ConversationsWebhookConfig {
    const form: Params = new Map();
    if (settings.postWebhookUrl !== undefined) form.set('PostWebhookUrl', [settings.postWebhookUrl ?? '']);
    if (settings.filters !== undefined) form.set('Filters', settings.filters.length ? settings.filters : ['']);
    return this.configureWebhooks(form);
  }

  private fireStateUpdated(c: Conversation, from: ConversationState, reason: string | undefined): Promise<Fired> {
    return this.fire(
      'onConversationStateUpdated',
      {
        ConversationSid: c.sid,
        MessagingServiceSid: c.messagingServiceSid,
        StateFrom: from,
        StateTo: c.state,
        StateUpdated: isoSeconds(this.now()),
        ...(reason !== undefined && { Reason: reason }),
      },
      'API',
    );
  }

  private async fire(event: PostEvent, params: Record<string, string>, source: WebhookSource): Promise<Fired> {
    const url = this.webhookConfig.postWebhookUrl;
    if (!url || !this.webhookConfig.filters.includes(event)) return { url: null, status: undefined };
    const all: Record<string, string> = {
      AccountSid: this.deps.account.sid,
      ChatServiceSid: SANDBOX_CONVERSATION_SERVICE_SID,
      EventType: event,
      Source: source,
      RetryCount: '0',
      WebhookType: 'webhook',
      ...params,
    };
    try {
      const result = await this.deps.webhooks.post(url, all);
      return { url, status: result.status, ...(result.refused !== undefined && { refused: result.refused }) };
    } catch (error) {
      this.log(`conversations webhook ${event} failed: ${error instanceof Error ? error.message : String(error)}`);
      return { url, status: undefined };
    }
  }
}

// ── Webhook parameters ──────────────────────────────────────────────────────

function conversationEventParams(c: Conversation): Record<string, string> {
  return {
    ConversationSid: c.sid,
    MessagingServiceSid: c.messagingServiceSid,
    DateCreated: isoSeconds(c.dateCreated),
    State: c.state,
    Attributes: c.attributes,
    ...(c.friendlyName !== null && { FriendlyName: c.friendlyName }),
    ...(c.uniqueName !== null && { UniqueName: c.uniqueName }),
  };
}

function participantEventParams(p: ConversationParticipant): Record<string, string> {
  return {
    ConversationSid: p.conversationSid,
    ParticipantSid: p.sid,
    DateCreated: isoSeconds(p.dateCreated),
    RoleSid: p.roleSid,
    Attributes: p.attributes,
    ...(p.identity !== null && { Identity: p.identity }),
    ...(p.binding && { 'MessagingBinding.Address': p.binding.address, 'MessagingBinding.ProxyAddress': p.binding.proxyAddress }),
  };
}

function messageEventParams(c: Conversation, m: ConversationMessage): Record<string, string> {
  return {
    ConversationSid: c.sid,
    MessageSid: m.sid,
    MessagingServiceSid: c.messagingServiceSid,
    Index: String(m.index),
    DateCreated: isoSeconds(m.dateCreated),
    Body: m.body,
    Author: m.author,
    Attributes: m.attributes,
    ...(m.participantSid !== null && { ParticipantSid: m.participantSid }),
  };
}

// ── JSON ────────────────────────────────────────────────────────────────────

export function conversationJson(accountSid: string, c: Conversation) {
  const url = `${CONVERSATIONS_HOST}/v1/Conversations/${c.sid}`;
  return {
    account_sid: accountSid,
    chat_service_sid: SANDBOX_CONVERSATION_SERVICE_SID,
    messaging_service_sid: c.messagingServiceSid,
    sid: c.sid,
    friendly_name: c.friendlyName,
    unique_name: c.uniqueName,
    attributes: c.attributes,
    state: c.state,
    date_created: isoSeconds(c.dateCreated),
    date_updated: isoSeconds(c.dateUpdated),
    timers: {},
    url,
    links: { participants: `${url}/Participants`, messages: `${url}/Messages`, webhooks: `${url}/Webhooks` },
    bindings: {},
  };
}

export function participantJson(accountSid: string, p: ConversationParticipant) {
  return {
    account_sid: accountSid,
    conversation_sid: p.conversationSid,
    sid: p.sid,
    identity: p.identity,
    attributes: p.attributes,
    messaging_binding: p.binding ? { type: p.binding.type, address: p.binding.address, proxy_address: p.binding.proxyAddress } : null,
    role_sid: p.roleSid,
    date_created: isoSeconds(p.dateCreated),
    date_updated: isoSeconds(p.dateUpdated),
    url: `${CONVERSATIONS_HOST}/v1/Conversations/${p.conversationSid}/Participants/${p.sid}`,
    last_read_message_index: null,
    last_read_timestamp: null,
  };
}

export function conversationMessageJson(store: ConversationStore, m: ConversationMessage) {
  const url = `${CONVERSATIONS_HOST}/v1/Conversations/${m.conversationSid}/Messages/${m.sid}`;
  return {
    account_sid: store.accountSid,
    conversation_sid: m.conversationSid,
    sid: m.sid,
    index: m.index,
    author: m.author,
    body: m.body,
    media: null,
    attributes: m.attributes,
    participant_sid: m.participantSid,
    date_created: isoSeconds(m.dateCreated),
    date_updated: isoSeconds(m.dateUpdated),
    url,
    delivery: store.deliverySummary(m),
    links: { delivery_receipts: `${url}/Receipts`, channel_metadata: `${url}/ChannelMetadata` },
    content_sid: null,
  };
}

export function webhookConfigJson(accountSid: string, w: ConversationsWebhookConfig) {
  return {
    account_sid: accountSid,
    method: w.method,
    filters: w.filters,
    pre_webhook_url: w.preWebhookUrl,
    post_webhook_url: w.postWebhookUrl,
    target: w.target,
    url: `${CONVERSATIONS_HOST}/v1/Configuration/Webhooks`,
  };
}

// ── Routes ──────────────────────────────────────────────────────────────────

const CONVERSATIONS_PATH = /^\/v1\/Conversations(?:\/([^/]+)(?:\/(Participants|Messages)(?:\/([^/]+))?)?)?$/;

/** True for the paths conversationsRoute answers or refuses (`/v1/Conversations…`, `/v1/Configuration…`). */
export function isConversationsPath(path: string): boolean {
  return path.startsWith('/v1/Conversations') || path.startsWith('/v1/ConversationWithParticipants') || path.startsWith('/v1/Configuration') || path.startsWith('/v1/ParticipantConversations');
}

function dayFilter(query: Params, name: string): number | undefined {
  const value = first(query, name);
  if (value === undefined) return undefined;
  const t = Date.parse(`${value}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(t)) throw bad(20001, `Invalid ${name}: ${value}`);
  return t;
}

/**
 * The Conversations routes. `webhookEnabled` is the request's `X-Twilio-Webhook-Enabled:
 * true`. Undefined for a path or method of this product the sandbox does not emulate.
 */
export function conversationsRoute(store: ConversationStore, method: string, path: string, query: Params, form: Params, webhookEnabled = false): Reply | undefined {
  const account = store.accountSid;
  if (path === '/v1/Configuration/Webhooks') {
    if (method === 'GET') return { status: 200, body: webhookConfigJson(account, store.webhookConfig) };
    if (method === 'POST') return { status: 200, body: webhookConfigJson(account, store.configureWebhooks(form)) };
    return undefined;
  }
  const match = CONVERSATIONS_PATH.exec(path);
  if (!match) return undefined;
  const [, rawId, sub, childSid] = match;
  if (rawId === undefined) {
    if (method === 'POST') return { status: 201, body: conversationJson(account, store.create(form, webhookEnabled)) };
    if (method !== 'GET') return undefined;
    const state = first(query, 'State');
    if (state !== undefined && !['active', 'inactive', 'closed'].includes(state)) throw bad(50378, "'State' parameter value is invalid");
    const start = dayFilter(query, 'StartDate');
    const end = dayFilter(query, 'EndDate');
    const items = store
      .list()
      .filter((c) => (!state || c.state === state) && (start === undefined || c.dateCreated.getTime() >= start) && (end === undefined || c.dateCreated.getTime() < end + 86_400_000));
    return { status: 200, body: paginateMeta(items, query, `${CONVERSATIONS_HOST}/v1/Conversations`, 'conversations', (c) => conversationJson(account, c)) };
  }
  let id: string;
  try {
    id = decodeURIComponent(rawId);
  } catch {
    throw notFound(`/Conversations/${rawId}`);
  }
  if (sub === undefined) {
    if (method === 'GET') return { status: 200, body: conversationJson(account, store.require(id)) };
    if (method === 'POST') return { status: 200, body: conversationJson(account, store.update(id, form, webhookEnabled)) };
    if (method === 'DELETE') {
      store.delete(id, webhookEnabled);
      return { status: 204 };
    }
    return undefined;
  }
  const conversation = store.require(id);
  const base = `${CONVERSATIONS_HOST}/v1/Conversations/${conversation.sid}/${sub}`;
  if (sub === 'Participants') {
    if (childSid === undefined) {
      if (method === 'POST') return { status: 201, body: participantJson(account, store.addParticipant(conversation.sid, form, webhookEnabled)) };
      if (method === 'GET') return { status: 200, body: paginateMeta([...conversation.participants.values()], query, base, 'participants', (p) => participantJson(account, p)) };
      return undefined;
    }
    if (method === 'GET') return { status: 200, body: participantJson(account, store.requireParticipant(conversation.sid, childSid)) };
    if (method === 'DELETE') {
      store.removeParticipant(conversation.sid, childSid, webhookEnabled);
      return { status: 204 };
    }
    return undefined;
  }
  if (childSid === undefined) {
    if (method === 'POST') return { status: 201, body: conversationMessageJson(store, store.addMessage(conversation.sid, form, webhookEnabled)) };
    if (method !== 'GET') return undefined;
    const order = first(query, 'Order') ?? 'asc';
    if (order !== 'asc' && order !== 'desc') throw bad(20001, `Invalid Order: ${order}`);
    const items = order === 'asc' ? [...conversation.messages] : [...conversation.messages].reverse();
    return { status: 200, body: paginateMeta(items, query, base, 'messages', (m) => conversationMessageJson(store, m)) };
  }
  if (method === 'GET') return { status: 200, body: conversationMessageJson(store, store.requireMessage(conversation.sid, childSid)) };
  if (method === 'DELETE') {
    store.removeMessage(conversation.sid, childSid, webhookEnabled);
    return { status: 204 };
  }
  return undefined;
}
