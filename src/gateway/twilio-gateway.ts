/**
 * The only module that talks to Twilio. It uses the official `twilio` SDK (loaded on
 * first use, to keep cold start low) through the resilient request client, and returns
 * plain records: services never see SDK types or HTTP.
 */
import type TwilioSDK from 'twilio';
import type { MessageInstance } from 'twilio/lib/rest/api/v2010/account/message.js';
import type { Credentials } from '../config/env.js';
import { toToolFailure } from '../errors/from-twilio.js';
import { ToolFailure } from '../errors/tool-failure.js';
import { lazy } from '../util/lazy.js';
import { createResilientRequestClient } from './resilient-request-client.js';
import { createLookupGateway, type LookupGateway } from './lookup-gateway.js';
import { createConversationsGateway, createVideoGateway, type ConversationsGateway, type VideoGateway } from './conversations-gateway.js';
import { createUsageGateway, type UsageGateway } from './usage-gateway.js';
import { createNumbersGateway, type NumbersGateway } from './numbers-gateway.js';
import { createVerifyGateway, type VerifyGateway } from './verify-gateway.js';
import { createVoiceGateway, type VoiceGateway } from './voice-gateway.js';
import { toNumber } from './sdk-values.js';

export interface GatewayTarget {
  credentials: Credentials;
  /** Sandbox base URL; undefined means the real Twilio hosts. */
  baseUrl: string | undefined;
  region: string | undefined;
  edge: string | undefined;
  timeoutMs: number;
  /**
   * Resolves the base URL and password on first use, for an embedded sandbox that starts
   * lazily (its account SID is fixed, its port and token are not known before it starts).
   */
  resolveEndpoint?: () => Promise<{ baseUrl: string; password: string }>;
}

export interface MessageRecord {
  sid: string;
  accountSid: string;
  from: string | null;
  to: string;
  body: string | null;
  status: string;
  direction: string;
  numSegments: number | null;
  numMedia: number | null;
  price: string | null;
  priceUnit: string | null;
  errorCode: number | null;
  errorMessage: string | null;
  messagingServiceSid: string | null;
  dateCreated: Date | null;
  dateSent: Date | null;
  dateUpdated: Date | null;
}

export interface CreateMessageRequest {
  to: string;
  from?: string;
  messagingServiceSid?: string;
  body?: string;
  mediaUrl?: string[];
  statusCallback?: string;
  sendAt?: Date;
  contentSid?: string;
  contentVariables?: string;
  /** Twilio's SmartEncoded: Twilio replaces characters that have GSM-7 look-alikes. */
  smartEncoded?: boolean;
}

export interface MessageListFilter {
  to?: string;
  from?: string;
  dateSentAfter?: Date;
  dateSentBefore?: Date;
}

export interface MessagePage {
  messages: MessageRecord[];
  /** Absolute URL of this page (so a caller can resume inside it). */
  pageUrl: string;
  nextPageUrl: string | undefined;
}

export interface IncomingNumberRecord {
  sid: string;
  phoneNumber: string;
  smsUrl: string | null;
  voiceUrl: string | null;
  statusCallback: string | null;
}

export interface TwilioGateway {
  readonly accountSid: string;
  findIncomingNumber(phoneNumber: string): Promise<IncomingNumberRecord | undefined>;
  updateIncomingNumber(sid: string, change: { smsUrl?: string; voiceUrl?: string; statusCallback?: string }): Promise<IncomingNumberRecord>;
  createMessage(request: CreateMessageRequest): Promise<MessageRecord>;
  fetchMessage(sid: string): Promise<MessageRecord>;
  updateMessage(sid: string, change: { status?: 'canceled'; body?: string }): Promise<MessageRecord>;
  listMessages(filter: MessageListFilter, pageSize: number): Promise<MessagePage>;
  /** Opens a page by URL; the URL must be one this account's listing produced. */
  listMessagesAt(pageUrl: string): Promise<MessagePage>;
  /** The phone numbers (E.164) in a Messaging Service's sender pool. */
  listServicePhoneNumbers(serviceSid: string): Promise<string[]>;
  /** Calls, recordings, conferences. */
  readonly voice: VoiceGateway;
  readonly verify: VerifyGateway;
  readonly lookup: LookupGateway;
  readonly numbers: NumbersGateway;
  readonly conversations: ConversationsGateway;
  readonly video: VideoGateway;
  readonly usage: UsageGateway;
}


function toRecord(m: MessageInstance): MessageRecord {
  return {
    sid: m.sid,
    accountSid: m.accountSid,
    from: m.from ?? null,
    to: m.to,
    body: m.body ?? null,
    status: m.status,
    direction: m.direction,
    numSegments: toNumber(m.numSegments),
    numMedia: toNumber(m.numMedia),
    price: m.price ?? null,
    priceUnit: m.priceUnit ?? null,
    errorCode: toNumber(m.errorCode),
    errorMessage: m.errorMessage ?? null,
    messagingServiceSid: m.messagingServiceSid ?? null,
    dateCreated: m.dateCreated ?? null,
    dateSent: m.dateSent ?? null,
    dateUpdated: m.dateUpdated ?? null,
  };
}

const loadTwilio = lazy(async () => (await import('twilio')).default);

export function createTwilioGateway(target: GatewayTarget): TwilioGateway {
  const { accountSid } = target.credentials;
  const messagesPath = `/2010-04-01/Accounts/${accountSid}/Messages.json`;

  // Where recording media lives: Twilio's API host, or the sandbox once it has started.
  let apiBase = target.baseUrl ?? 'https://api.twilio.com';
  const client = lazy(async () => {
    const [twilio, endpoint] = await Promise.all([
      loadTwilio(),
      target.resolveEndpoint?.() ?? { baseUrl: target.baseUrl, password: target.credentials.password },
    ]);
    if (endpoint.baseUrl) apiBase = endpoint.baseUrl;
    return twilio(target.credentials.username, endpoint.password, {
      accountSid,
      // In the sandbox the product host is kept in a header; region/edge would only rename it.
      region: endpoint.baseUrl ? undefined : target.region,
      edge: endpoint.baseUrl ? undefined : target.edge,
      httpClient: createResilientRequestClient(twilio.RequestClient, { baseUrl: endpoint.baseUrl, timeoutMs: target.timeoutMs }),
      // Never 'debug': the SDK's debug logging writes to stdout, which belongs to JSON-RPC.
      logLevel: 'info',
    });
  });

  async function call<T>(work: (c: TwilioSDK.Twilio) => Promise<T>): Promise<T> {
    try {
      return await work(await client());
    } catch (error) {
      throw toToolFailure(error);
    }
  }

  type SdkPage = { instances: MessageInstance[]; nextPageUrl?: string; _payload?: { uri?: string } };
  const toPage = (page: SdkPage, fallbackUrl: string): MessagePage => ({
    messages: page.instances.map(toRecord),
    pageUrl: page._payload?.uri ? `https://api.twilio.com${page._payload.uri}` : fallbackUrl,
    nextPageUrl: page.nextPageUrl || undefined,
  });

  type SdkNumber = { sid: string; phoneNumber: string; smsUrl?: string | null; voiceUrl?: string | null; statusCallback?: string | null };
  const toNumberRecord = (n: SdkNumber): IncomingNumberRecord => ({
    sid: n.sid,
    phoneNumber: n.phoneNumber,
    smsUrl: n.smsUrl || null,
    voiceUrl: n.voiceUrl || null,
    statusCallback: n.statusCallback || null,
  });

  return {
    accountSid,
    voice: createVoiceGateway(call, accountSid, () => apiBase),
    verify: createVerifyGateway(call),
    lookup: createLookupGateway(call),
    numbers: createNumbersGateway(call),
    conversations: createConversationsGateway(call),
    video: createVideoGateway(call),
    usage: createUsageGateway(call),
    findIncomingNumber: (phoneNumber) =>
      call(async (c) => {
        const [found] = await c.incomingPhoneNumbers.list({ phoneNumber, limit: 1 });
        return found ? toNumberRecord(found) : undefined;
      }),
    updateIncomingNumber: (sid, change) =>
      call(async (c) =>
        toNumberRecord(
          await c.incomingPhoneNumbers(sid).update({
            ...(change.smsUrl !== undefined && { smsUrl: change.smsUrl, smsMethod: 'POST' }),
            ...(change.voiceUrl !== undefined && { voiceUrl: change.voiceUrl, voiceMethod: 'POST' }),
            ...(change.statusCallback !== undefined && { statusCallback: change.statusCallback, statusCallbackMethod: 'POST' }),
          }),
        ),
      ),
    createMessage: (r) =>
      call(async (c) =>
        toRecord(
          await c.messages.create({
            to: r.to,
            ...(r.from && { from: r.from }),
            ...(r.messagingServiceSid && { messagingServiceSid: r.messagingServiceSid }),
            ...(r.body !== undefined && { body: r.body }),
            ...(r.mediaUrl?.length && { mediaUrl: r.mediaUrl }),
            ...(r.statusCallback && { statusCallback: r.statusCallback }),
            ...(r.sendAt && { sendAt: r.sendAt, scheduleType: 'fixed' as const }),
            ...(r.contentSid && { contentSid: r.contentSid }),
            ...(r.contentVariables && { contentVariables: r.contentVariables }),
            ...(r.smartEncoded && { smartEncoded: true }),
          }),
        ),
      ),
    fetchMessage: (sid) => call(async (c) => toRecord(await c.messages(sid).fetch())),
    updateMessage: (sid, change) =>
      call(async (c) =>
        toRecord(
          await c.messages(sid).update({
            ...(change.status && { status: change.status }),
            ...(change.body !== undefined && { body: change.body }),
          }),
        ),
      ),
    listMessages: (filter, pageSize) =>
      call(async (c) => {
        const page = (await c.messages.page({
          pageSize,
          ...(filter.to && { to: filter.to }),
          ...(filter.from && { from: filter.from }),
          ...(filter.dateSentAfter && { dateSentAfter: filter.dateSentAfter }),
          ...(filter.dateSentBefore && { dateSentBefore: filter.dateSentBefore }),
        })) as unknown as SdkPage;
        return toPage(page, `https://api.twilio.com${messagesPath}?PageSize=${pageSize}`);
      }),
    listServicePhoneNumbers: (serviceSid) =>
      call(async (c) => (await c.messaging.v1.services(serviceSid).phoneNumbers.list({ limit: 400 })).map((n) => n.phoneNumber)),
    listMessagesAt: (pageUrl) => {
      // A page token comes from the agent: it must never steer credentials to another host or account.
      const url = new URL(pageUrl);
      if (url.protocol !== 'https:' || !/^api(\.[a-z0-9-]+)*\.twilio\.com$/.test(url.hostname) || url.pathname !== messagesPath) {
        return Promise.reject(
          new ToolFailure({ message: 'The page_token is not one this server issued for this account.', nextStep: 'Call list_messages again without page_token.' }),
        );
      }
      return call(async (c) => toPage((await c.messages.getPage(pageUrl)) as unknown as SdkPage, pageUrl));
    },
  };
}
