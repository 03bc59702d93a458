/**
 * A wire-faithful Twilio REST emulator, usable on its own (`mcp-server-twilio sandbox`)
 * or embedded by the MCP server when no credentials are set.
 *
 * It imports nothing from the layers above: the gateway and the sandbox are written
 * apart so that, with Twilio's OpenAPI schemas as referee, one can catch the other's
 * mistakes.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAccount } from './account.js';
import type { CallbackPolicy } from './callback-policy.js';
import { WebhookSender } from './callbacks.js';
import { type CallTiming, normalizeCallTiming } from './call-lifecycle.js';
import { callJson, CallStore } from './calls.js';
import { type CallerScript, CallerScripts, parseCallerScript } from './caller-script.js';
import type { RelayTranscriptEntry } from './relay-client.js';
import { ConferenceStore } from './conferences.js';
import { RecordingStore } from './recordings.js';
import { DeviceLog, type DeviceEntry } from './device-log.js';
import { VerifyStore } from './verify.js';
import { UsageLedger } from './usage.js';
import { type TraceStep, TwimlFetcher } from './twiml-walker.js';
import { FaultInjector, type SandboxFault } from './faults.js';
import { Chaos, outboundCounts, type SandboxChaos, type SandboxChaosSettings } from './chaos.js';
import { normalizeTiming, type Timing } from './lifecycle.js';
import { SANDBOX_ACCOUNT_SID, SANDBOX_API_KEY_SID, TEST_SENDER } from './constants.js';
import { type ConversationInboundFields, type ConversationInboundResult, type ConversationsWebhookConfig, ConversationStore } from './conversations.js';
import { type VideoTiming, VideoStore, videoParticipantJson } from './video.js';
import { MessageStore } from './messages.js';
import {
  createSandboxHttpServer,
  type InboundCallFields,
  type InboundCallResult,
  type InboundFields,
  type InboundResult,
  type SandboxContext,
} from './server.js';

export type { CallbackPolicy } from './callback-policy.js';
export type { SandboxFault } from './faults.js';
export type { SandboxChaos, SandboxChaosSettings } from './chaos.js';
export { ChaosSpecError } from './chaos.js';
export type { Timing as SandboxTiming } from './lifecycle.js';
export type { InboundCallFields, InboundCallResult, InboundFields, InboundResult } from './server.js';
export type { CallTiming as SandboxVoiceTiming } from './call-lifecycle.js';
export type { CallerAnswer, CallerInput, CallerScript, RelayTurn } from './caller-script.js';
export type { RelayTranscriptEntry } from './relay-client.js';
export type { TraceStep as CallTraceStep } from './twiml-walker.js';
export { twilioSignature } from './callbacks.js';
export type { ConversationInboundFields, ConversationInboundResult, ConversationsWebhookConfig } from './conversations.js';
export type { VideoTiming as SandboxVideoTiming } from './video.js';
export { SANDBOX_CONVERSATION_SERVICE_SID, SANDBOX_MESSENGER_PAGE } from './conversations.js';

export interface SandboxOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1: the sandbox is for this machine. */
  host?: string;
  accountSid?: string;
  /** Default: a fresh random token per start. */
  authToken?: string;
  /** Delays from create (or from SendAt) to each status; see lifecycle.ts. */
  timing?: Partial<Timing>;
  /**
   * Voice time (call-lifecycle.ts): `msPerSecond` real ms per simulated second (default 10),
   * `ringSeconds` before a callee answers (4), `recordingReadyMs` (50) and
   * `transcriptionReadyMs` (150) for the recordings store.
   */
  voiceTiming?: Partial<CallTiming>;
  /**
   * Video time (video.ts): `msPerMinute` real ms per simulated minute (default 1000), for
   * the rooms' EmptyRoomTimeout and UnusedRoomTimeout (5 simulated minutes by default).
   */
  videoTiming?: Partial<VideoTiming>;
  /** Diagnostics sink; the sandbox never writes to stdout (stdio MCP owns it). */
  log?: (line: string) => void;
  /**
   * Where webhooks may go. Given, a loopback URL (127.0.0.0/8, ::1, localhost, or a name
   * resolving there) receives status callbacks and inbound messages only when
   * `isOwnReceiver` accepts it; a StatusCallback it refuses is Twilio's 21609 at create, a
   * number's SmsUrl or StatusCallback 21502 at update. Absent (the standalone sandbox,
   * whose users' receivers live on loopback), loopback is allowed. Only http(s) URLs are
   * ever called, with or without it.
   */
  callbackPolicy?: CallbackPolicy;
  /**
   * Usage Records and Balance (usage.ts): `now` is the ledger's clock (what "today" is for
   * Today/Yesterday/ThisMonth…; default the wall clock), `startingBalance` the account's
   * credit in USD before anything is billed (default 20).
   */
  usage?: { now?: () => Date; startingBalance?: number };
  /**
   * Probabilistic faults (rates of 429, 500/503, resets before/after processing, added
   * latency) and an account-level requests-per-second limit, drawn from a seeded PRNG
   * (chaos.ts; README "Faults"). A bad spec rejects startSandbox with a ChaosSpecError.
   */
  chaos?: SandboxChaos;
}

export interface SandboxHandle {
  baseUrl: string;
  accountSid: string;
  authToken: string;
  testSenderNumber: string;
  messagingServiceSid: string;
  whatsappSenderNumber: string;
  /** Also over HTTP: POST /__sandbox/faults (JSON, `path` a RegExp source), DELETE to clear. */
  injectFault(fault: SandboxFault): void;
  clearFaults(): void;
  /**
   * Replaces the probabilistic faults and rps limit (null: off); the PRNG restarts from the
   * seed (random when none, reported in the result) and the bucket starts full. Throws
   * ChaosSpecError on a bad spec. Also over HTTP: POST /__sandbox/chaos (JSON, `paths` as
   * RegExp sources; answers the settings), GET to read them, DELETE to turn off.
   */
  setChaos(spec: SandboxChaos | null): SandboxChaosSettings | null;
  /** The chaos settings in force, defaults and seed filled in; null when off. */
  getChaos(): SandboxChaosSettings | null;
  /**
   * Outbound messages the sandbox created for `to` (exact To, e.g. '+14155550100' or
   * 'whatsapp:+1…'), deleted ones and those whose answer a reset-after swallowed included.
   * Also over HTTP: GET /__sandbox/counts?to=… → {to, messages}.
   */
  messagesTo(to: string): number;
  /** The same for every recipient (GET /__sandbox/counts → {messages: {to: n}}). */
  messageCounts(): Map<string, number>;
  /**
   * Delivers an inbound SMS/WhatsApp to the number's SmsUrl, signed as Twilio signs it (not
   * called, `webhookRefused` set, when the callback policy refuses the URL). A WhatsApp one
   * opens the 24-hour window for free text back to that user.
   */
  simulateInbound(fields: InboundFields): Promise<InboundResult>;
  /** Points the test number's webhooks (as IncomingPhoneNumbers update would). */
  configureNumber(urls: { smsUrl?: string | null; statusCallback?: string | null; voiceUrl?: string | null; voiceMethod?: 'GET' | 'POST' }): void;
  /**
   * An inbound call (direction inbound) from `from` to one of the account's numbers
   * (default the first): the number's VoiceUrl is requested, signed, with Twilio's voice
   * parameters, and its TwiML walked. Resolves once the call exists and its walk has
   * started; `webhookRefused` when the callback policy refused the VoiceUrl (the call then
   * fails). Also over HTTP: POST /__sandbox/inbound-calls (JSON).
   */
  simulateInboundCall(fields: InboundCallFields): Promise<InboundCallResult>;
  /**
   * The behaviour of the person at `number` (caller-script.ts): callee of outbound calls
   * and of <Dial><Number>, and default script of inbound calls from it; null removes it.
   * Also over HTTP: POST /__sandbox/callers (JSON {number, script}).
   */
  scriptCaller(number: string, script: CallerScript | null): void;
  /** The call's REST JSON once it reaches a final status; rejects after timeoutMs (default 10 s). */
  waitForCall(callSid: string, options?: { timeoutMs?: number }): Promise<ReturnType<typeof callJson>>;
  /** Every step the TwiML walker took for the call (not part of the REST JSON). */
  callTrace(callSid: string): TraceStep[];
  /**
   * What was said in the call's ConversationRelay sessions, in order (relay-client.ts):
   * the caller's prompts, keys and interrupts, the agent's greeting, replies (tokens of
   * one reply joined), plays, digits, end and the frames it sent that were refused.
   * Empty for a call that reached no <ConversationRelay>; 20404 for an unknown call.
   */
  relayTranscript(callSid: string): RelayTranscriptEntry[];
  /** Stops every timer and the server; pending callbacks are dropped. */
  /**
   * What a phone number or email address received, newest first: outbound SMS/WhatsApp,
   * verification codes by text, call or email (read_sandbox_device).
   */
  readDevice(address: string, limit?: number): DeviceEntry[];
  /** The current code of a verification (by VE… SID or To), for tests that type it in. */
  verifyCodeOf(serviceSid: string, sidOrTo: string): string | undefined;
  /**
   * The sandbox's API key: Basic auth accepts `sid:secret` on every route, as Twilio
   * accepts an API key; the SID is fixed (SANDBOX_API_KEY_SID), the secret random per start.
   */
  apiKey: { sid: string; secret: string };
  /**
   * A person's SMS/WhatsApp `from` → the account's number `proxy`, into the open
   * conversation that has `from` as a participant on that proxy (rejects with a 404/20404
   * TwilioError when none has): the message is authored by `from`, copied to the other
   * SMS/WhatsApp participants, and onMessageAdded is POSTed, signed, when configured.
   * Also over HTTP: POST /__sandbox/conversation-inbound (JSON {from, proxy, body}).
   */
  simulateConversationInbound(fields: ConversationInboundFields): Promise<ConversationInboundResult>;
  /** The account-level Conversations webhook, as POST /v1/Configuration/Webhooks sets it. */
  configureConversationsWebhook(settings: { postWebhookUrl?: string | null; filters?: string[] }): ConversationsWebhookConfig;
  /**
   * A scripted participant connects to an in-progress room (by RM… SID or UniqueName), as a
   * client SDK would with an access token; its REST JSON. Also over HTTP: POST
   * /__sandbox/video-participants (JSON {room, identity}).
   */
  joinVideoParticipant(room: string, identity: string): ReturnType<typeof videoParticipantJson>;
  close(): Promise<void>;
}

export { SANDBOX_ACCOUNT_SID, SANDBOX_API_KEY_SID, SANDBOX_MESSAGING_SERVICE_SID, TEST_SENDER } from './constants.js';

export async function startSandbox(options: SandboxOptions = {}): Promise<SandboxHandle> {
  const log = options.log ?? (() => {});
  if (options.accountSid !== undefined && !/^AC[0-9a-f]{32}$/.test(options.accountSid)) {
    throw new Error(`accountSid must be 'AC' followed by 32 lowercase hex characters, got ${JSON.stringify(options.accountSid)}`);
  }
  if (options.authToken !== undefined && options.authToken.length === 0) throw new Error('authToken must not be empty');
  const account = createAccount(options.accountSid ?? SANDBOX_ACCOUNT_SID, options.authToken ?? randomBytes(16).toString('hex'), TEST_SENDER);
  const timing: Timing = normalizeTiming(options.timing);
  const callbackPolicy = options.callbackPolicy;
  const webhooks = new WebhookSender(account.authToken, log, callbackPolicy);
  const messages = new MessageStore(account, timing, webhooks, callbackPolicy);
  const faults = new FaultInjector();
  const chaos = new Chaos();
  if (options.chaos) {
    const settings = chaos.set(options.chaos);
    log(`chaos on, seed ${settings!.seed}`);
  }
  const number = account.numbers[0]!;
  const voiceTiming = normalizeCallTiming(options.voiceTiming);
  const recordings = new RecordingStore(account, webhooks, { recordingReadyMs: voiceTiming.recordingReadyMs, transcriptionReadyMs: voiceTiming.transcriptionReadyMs });
  const conferences = new ConferenceStore(account, webhooks, recordings);
  const callerScripts = new CallerScripts();
  let baseUrl = '';
  const calls = new CallStore({
    account,
    timing: voiceTiming,
    webhooks,
    fetcher: new TwimlFetcher(account.authToken, callbackPolicy),
    callbackPolicy,
    scripts: callerScripts,
    recordings,
    conferences,
    publicBaseUrl: () => baseUrl,
    log,
  });

  const simulateInboundCall = async (fields: InboundCallFields): Promise<InboundCallResult> => {
    const { call, voiceUrl, refused } = await calls.createInbound({
      from: fields.from,
      to: fields.to ?? number.phoneNumber,
      // Checked like a script set through scriptCaller: a bad one is refused whole (20001).
      ...(fields.script !== undefined && { script: parseCallerScript(fields.script) }),
    });
    return { callSid: call.sid, voiceUrl, ...(refused !== undefined && { webhookRefused: refused }) };
  };

  const simulateInbound = async (fields: InboundFields): Promise<InboundResult> => {
    const whatsapp = fields.from.startsWith('whatsapp:');
    const to = fields.to ?? (whatsapp ? `whatsapp:${number.phoneNumber}` : number.phoneNumber);
    const mediaUrls = fields.mediaUrls ?? [];
    const message = messages.createInbound({ from: fields.from, to, body: fields.body, mediaUrls, messagingServiceSid: account.messagingServiceSid });
    const params: Record<string, string> = {
      ToCountry: 'US',
      ToState: '',
      SmsMessageSid: message.sid,
      NumMedia: String(mediaUrls.length),
      ToCity: '',
      FromZip: '',
      SmsSid: message.sid,
      FromState: '',
      SmsStatus: 'received',
      FromCity: '',
      Body: fields.body,
      FromCountry: 'US',
      To: to,
      MessagingServiceSid: account.messagingServiceSid,
      ToZip: '',
      NumSegments: String(message.numSegments),
      MessageSid: message.sid,
      AccountSid: account.sid,
      From: fields.from,
      ApiVersion: '2010-04-01',
    };
    mediaUrls.forEach((url, i) => {
      params[`MediaUrl${i}`] = url;
      params[`MediaContentType${i}`] = message.media[i]!.contentType;
    });
    if (whatsapp) {
      params.ProfileName = fields.profileName ?? 'Sandbox User';
      params.WaId = fields.from.replace(/\D/g, '');
    }
    if (!number.smsUrl) return { messageSid: message.sid, webhookUrl: null, webhookStatus: undefined, reply: '' };
    const result = await webhooks.post(number.smsUrl, params);
    return {
      messageSid: message.sid,
      webhookUrl: number.smsUrl,
      webhookStatus: result.status,
      reply: result.body,
      ...(result.refused !== undefined && { webhookRefused: result.refused }),
    };
  };

  const devices = new DeviceLog();
  const verify = new VerifyStore(account.sid, devices);
  const usage = new UsageLedger(account.sid, { messages, calls, recordings, verify }, { startedAt: account.dateCreated, ...options.usage });
  // Conversations and Video.
  const apiKey = { sid: SANDBOX_API_KEY_SID, secret: randomBytes(16).toString('hex') };
  const conversations = new ConversationStore({ account, messages, devices, webhooks, callbackPolicy, log });
  const video = new VideoStore({ accountSid: account.sid, webhooks, callbackPolicy, ...(options.videoTiming && { timing: options.videoTiming }) });
  const simulateConversationInbound = (fields: ConversationInboundFields) => conversations.simulateInbound(fields);
  const ctx: SandboxContext = {
    account, messages, calls, recordings, conferences, callerScripts, faults, chaos, callbackPolicy, simulateInbound, simulateInboundCall, verify, devices,
    conversations, video, apiKey, simulateConversationInbound, usage,
  };
  const { server, hanging } = createSandboxHttpServer(ctx, log);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  baseUrl = `http://${shownHost}:${port}`;

  return {
    baseUrl,
    accountSid: account.sid,
    authToken: account.authToken,
    testSenderNumber: number.phoneNumber,
    messagingServiceSid: account.messagingServiceSid,
    whatsappSenderNumber: `whatsapp:${number.phoneNumber}`,
    injectFault: (fault) => faults.inject(fault),
    clearFaults: () => faults.clear(),
    setChaos: (spec) => chaos.set(spec),
    getChaos: () => chaos.settings(),
    messagesTo: (to) => outboundCounts(messages.everCreated()).get(to) ?? 0,
    messageCounts: () => outboundCounts(messages.everCreated()),
    simulateInbound,
    configureNumber: (urls) => {
      if (urls.smsUrl !== undefined) number.smsUrl = urls.smsUrl;
      if (urls.statusCallback !== undefined) number.statusCallback = urls.statusCallback;
      if (urls.voiceUrl !== undefined) number.voiceUrl = urls.voiceUrl;
      if (urls.voiceMethod !== undefined) number.voiceMethod = urls.voiceMethod;
      number.dateUpdated = new Date();
    },
    simulateInboundCall,
    scriptCaller: (phone, script) => callerScripts.set(phone, script),
    waitForCall: async (callSid, waitOptions = {}) => callJson(account.sid, await calls.waitFor(callSid, waitOptions.timeoutMs)),
    callTrace: (callSid) => [...calls.require(callSid).trace],
    relayTranscript: (callSid) => calls.require(callSid).trace.flatMap((step) => (step.relay ? [{ ...step.relay }] : [])),
    readDevice: (address, limit) => devices.read(address, limit),
    verifyCodeOf: (serviceSid, sidOrTo) => verify.codeOf(serviceSid, sidOrTo),
    apiKey: { ...apiKey },
    simulateConversationInbound,
    configureConversationsWebhook: (settings) => structuredClone(conversations.configure(settings)),
    joinVideoParticipant: (room, identity) => videoParticipantJson(account.sid, video.join(room, identity)),
    close: async () => {
      messages.close();
      calls.close();
      conferences.close();
      recordings.close();
      video.close();
      webhooks.close();
      for (const res of hanging as Set<ServerResponse>) res.socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
