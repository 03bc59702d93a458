/**
 * Maps a request (method + path) to the emulated resource. Routes on the path alone:
 * clients that rewrite `https://<product>.twilio.com/...` to the sandbox may add an
 * `X-Twilio-Product-Host` header, but the emulated paths do not collide (`/2010-04-01/…`
 * is api.twilio.com, `/v1/Services/MG…` is messaging.twilio.com).
 */
import { type Account, accountJson } from './account.js';
import type { CallbackPolicy } from './callback-policy.js';
import { callFilter, callJson, type CallStore } from './calls.js';
import { type CallerScript, type CallerScripts, parseCallerScript } from './caller-script.js';
import { type ConferenceStore, conferencesRoute } from './conferences.js';
import type { FaultInjector, SandboxFault } from './faults.js';
import { type Chaos, ChaosSpecError, outboundCounts, parseChaosJson } from './chaos.js';
import { dateSentFilter, mediaJson, messageJson, type MessageStore } from './messages.js';
import { isMessagingPath, messagingRoute } from './messaging-services.js';
import { paginate } from './paging.js';
import { type RecordingStore, recordingsRoute } from './recordings.js';
import { type DeviceLog, deviceLogRoute } from './device-log.js';
import { isLookupPath, lookupRoute } from './lookup.js';
import { phoneNumbersRoute } from './phone-inventory.js';
import { isVerifyPath, type VerifyStore, verifyRoute } from './verify.js';
import type { ApiKeyCredential } from './auth.js';
import { type ConversationInboundFields, type ConversationInboundResult, type ConversationStore, conversationsRoute, isConversationsPath } from './conversations.js';
import { isVideoPath, videoParticipantJson, type VideoStore, videoRoute } from './video.js';
// --- usage, balance, pricing (usage.ts, pricing.ts)
import { isPricingPath, pricingRoute } from './pricing.js';
import { type UsageLedger, usageRoute } from './usage.js';
import { first, type Params, TwilioError } from './wire.js';

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface InboundFields {
  from: string;
  to?: string;
  body: string;
  mediaUrls?: string[];
  profileName?: string;
}

export interface InboundResult {
  messageSid: string;
  webhookUrl: string | null;
  webhookStatus: number | undefined;
  reply: string;
  /** Why the number's SmsUrl was not called, when the callback policy refused it. */
  webhookRefused?: string;
}

export interface InboundCallFields {
  from: string;
  /** One of the account's numbers; default its first. */
  to?: string;
  /** The caller's behaviour for this call; default the script set for `from` (scriptCaller). */
  script?: CallerScript;
}

export interface InboundCallResult {
  callSid: string;
  voiceUrl: string | null;
  /** Why the number's VoiceUrl was not called, when the callback policy refused it. */
  webhookRefused?: string;
}

export interface SandboxContext {
  account: Account;
  messages: MessageStore;
  calls: CallStore;
  recordings: RecordingStore;
  conferences: ConferenceStore;
  callerScripts: CallerScripts;
  faults: FaultInjector;
  /** Probabilistic faults and the account rps limit (chaos.ts). */
  chaos: Chaos;
  callbackPolicy: CallbackPolicy | undefined;
  simulateInbound(fields: InboundFields): Promise<InboundResult>;
  simulateInboundCall(fields: InboundCallFields): Promise<InboundCallResult>;
  verify: VerifyStore;
  devices: DeviceLog;
  // Conversations and Video (conversations.ts, video.ts).
  conversations: ConversationStore;
  video: VideoStore;
  /** Also accepted by Basic auth, as Twilio accepts an API key. */
  apiKey: ApiKeyCredential;
  simulateConversationInbound(fields: ConversationInboundFields): Promise<ConversationInboundResult>;
  /** Usage Records and Balance, computed from the stores (usage.ts). */
  usage: UsageLedger;
}

export interface RouteRequest {
  method: string;
  path: string;
  query: Params;
  form: Params;
  /** The raw body: admin routes take JSON. */
  raw: string;
  /** Request headers, lower-cased names (Conversations reads X-Twilio-Webhook-Enabled). */
  headers?: Record<string, string | string[] | undefined>;
}

export function notFound(path: string): TwilioError {
  return new TwilioError(404, 20404, `The requested resource ${path} was not found`);
}

/**
 * A path Twilio has but the sandbox does not emulate: 501, never a 404 that looks like a
 * real "not found". 20501 is the sandbox's own code (Twilio has none for this).
 */
export function notEmulated(method: string, path: string): TwilioError {
  return new TwilioError(501, 20501, `The sandbox does not emulate ${method} ${path}. It emulates Messages, Calls, Recordings, Transcriptions, Conferences, IncomingPhoneNumbers, AvailablePhoneNumbers, Messaging Services, Verify v2, Lookup v2, Conversations v1, Video v1, Usage Records, Balance and Pricing (Voice v2, Messaging v1) (see src/sandbox/README.md); test this request against Twilio.`);
}

const ACCOUNT_PATH = /^\/2010-04-01\/Accounts\/(AC[0-9a-fA-F]{32})(\/.*|\.json)$/;
const MESSAGE_PATH = /^\/Messages\/((?:SM|MM)[0-9a-f]{32})(\.json|\/Media\.json|\/Media\/(ME[0-9a-f]{32})\.json)$/;
const CALL_PATH = /^\/Calls\/(CA[0-9a-f]{32})(\.json|\/.+)$/;

export async function route(ctx: SandboxContext, req: RouteRequest): Promise<Reply> {
  const { method, path, query, form } = req;
  if (path.startsWith('/__sandbox/')) return adminRoute(ctx, req);

  const { account, messages } = ctx;
  if (isMessagingPath(path)) return messagingRoute(account, method, path, query);
  if (isVerifyPath(path)) {
    const answer = verifyRoute(ctx.verify, method, path, query, form);
    if (answer) return answer;
    throw notEmulated(method, path);
  }
  if (isConversationsPath(path)) {
    // Twilio fires webhooks for REST actions only when the request asks for them.
    const webhookEnabled = String(req.headers?.['x-twilio-webhook-enabled'] ?? '').toLowerCase() === 'true';
    const answer = conversationsRoute(ctx.conversations, method, path, query, form, webhookEnabled);
    if (answer) return answer;
    throw notEmulated(method, path);
  }
  if (isVideoPath(path)) {
    const answer = videoRoute(ctx.video, method, path, query, form);
    if (answer) return answer;
    throw notEmulated(method, path);
  }
  if (isLookupPath(path)) {
    const answer = await lookupRoute(method, path, query);
    // A lookup leaves no resource behind: the ledger is told of each answer, to bill its packages.
    if (answer) ctx.usage.recordLookup(answer.body);
    if (answer) return answer;
    throw notEmulated(method, path);
  }
  if (isPricingPath(path)) {
    const answer = pricingRoute(method, path, query, { ownNumbers: () => account.numbers.map((n) => n.phoneNumber) });
    if (answer) return answer;
    throw notEmulated(method, path);
  }
  // Another account's path answers 404, never 403: Twilio does not confirm that a
  // resource it will not show you exists.
  const accountMatch = ACCOUNT_PATH.exec(path);
  if (!accountMatch) throw notEmulated(method, path);
  if (accountMatch[1] !== account.sid) throw notFound(path);
  const rest = accountMatch[2]!;
  const base = `/2010-04-01/Accounts/${account.sid}`;

  if (rest === '.json' && method === 'GET') return { status: 200, body: accountJson(account) };

  if (rest === '/Messages.json') {
    if (method === 'POST') {
      const created = messages.create(form);
      // What the recipient's phone shows (read_sandbox_device); a scheduled message arrives later, not here.
      if (created.status !== 'scheduled') {
        ctx.devices.record(created.to, { kind: created.to.startsWith('whatsapp:') ? 'whatsapp' : 'sms', from: created.from ?? account.messagingServiceSid, body: created.body, at: created.dateCreated });
      }
      return { status: 201, body: messageJson(account.sid, created) };
    }
    if (method === 'GET') {
      const to = first(query, 'To');
      const from = first(query, 'From');
      const sent = dateSentFilter(query);
      const items = messages.all().filter((m) => (!to || m.to === to) && (!from || m.from === from) && sent(m));
      const positionOf = (sid: string) => messages.listPosition(sid);
      return { status: 200, body: paginate(items, query, `${base}/Messages.json`, 'messages', (m) => messageJson(account.sid, m), { positionOf }) };
    }
    throw notFound(path);
  }

  const messageMatch = MESSAGE_PATH.exec(rest);
  if (messageMatch) {
    const [, sid, tail, mediaSid] = messageMatch as unknown as [string, string, string, string | undefined];
    if (tail === '.json') {
      if (method === 'GET') return { status: 200, body: messageJson(account.sid, messages.require(sid)) };
      if (method === 'POST') return { status: 200, body: messageJson(account.sid, messages.update(sid, form)) };
      if (method === 'DELETE') {
        messages.delete(sid);
        return { status: 204 };
      }
      throw notFound(path);
    }
    const message = messages.get(sid);
    if (!message || method !== 'GET') throw notFound(path);
    if (tail === '/Media.json') {
      return {
        status: 200,
        body: paginate(message.media, query, `${base}/Messages/${sid}/Media.json`, 'media_list', (m) => mediaJson(account.sid, message, m)),
      };
    }
    const media = message.media.find((m) => m.sid === mediaSid);
    if (media) return { status: 200, body: mediaJson(account.sid, message, media) };
    throw notFound(path);
  }

  if (rest === '/Calls.json') {
    if (method === 'POST') return { status: 201, body: callJson(account.sid, ctx.calls.create(form)) };
    if (method === 'GET') {
      const items = ctx.calls.all().filter(callFilter(query));
      const positionOf = (sid: string) => ctx.calls.listPosition(sid);
      return { status: 200, body: paginate(items, query, `${base}/Calls.json`, 'calls', (c) => callJson(account.sid, c), { positionOf }) };
    }
    throw notFound(path);
  }
  const callMatch = CALL_PATH.exec(rest);
  if (callMatch) {
    const [, sid, tail] = callMatch as unknown as [string, string, string];
    if (tail === '.json') {
      if (method === 'GET') return { status: 200, body: callJson(account.sid, ctx.calls.require(sid)) };
      if (method === 'POST') return { status: 200, body: callJson(account.sid, ctx.calls.update(sid, form)) };
      if (method === 'DELETE') {
        ctx.calls.delete(sid);
        return { status: 204 };
      }
      throw notFound(path);
    }
    // A call's subresources (Recordings, …) are the media store's; the call must exist.
    if (!ctx.calls.get(sid)) throw notFound(path);
  }
  const usage = usageRoute(ctx.usage, account.sid, method, rest, query);
  if (usage) return usage;

  const media = recordingsRoute(ctx.recordings, account.sid, method, rest, query, form) ?? conferencesRoute(ctx.conferences, account.sid, method, rest, query, form);
  if (media) return media;

  const numbers = phoneNumbersRoute(account, method, rest, query, form, { callbackPolicy: ctx.callbackPolicy });
  if (numbers) return numbers;

  throw notEmulated(method, path);
}

const FAULT_KINDS = new Set<SandboxFault['kind']>(['status', 'reset-before', 'reset-after', 'hang']);

/** The admin body is JSON; a bad one is refused whole, so a test never runs half-armed. */
function parseFault(raw: string): SandboxFault {
  const spec = JSON.parse(raw) as Record<string, unknown>;
  const invalid = (why: string) => new TwilioError(400, 20001, `Invalid fault: ${why}`);
  if (typeof spec !== 'object' || spec === null) throw invalid('expected a JSON object');
  if (typeof spec.path !== 'string') throw invalid('path must be a string (a regular expression source)');
  if (typeof spec.kind !== 'string' || !FAULT_KINDS.has(spec.kind as SandboxFault['kind'])) {
    throw invalid(`kind must be one of ${[...FAULT_KINDS].join(', ')}`);
  }
  for (const key of ['status', 'retryAfterSeconds', 'times'] as const) {
    if (spec[key] !== undefined && (typeof spec[key] !== 'number' || !Number.isInteger(spec[key]) || (spec[key] as number) < 0)) {
      throw invalid(`${key} must be a non-negative integer`);
    }
  }
  if (spec.method !== undefined && typeof spec.method !== 'string') throw invalid('method must be a string');
  let path: RegExp;
  try {
    path = new RegExp(spec.path);
  } catch {
    throw invalid(`path is not a valid regular expression: ${spec.path}`);
  }
  return {
    path,
    kind: spec.kind as SandboxFault['kind'],
    ...(spec.method !== undefined && { method: spec.method as string }),
    ...(spec.status !== undefined && { status: spec.status as number }),
    ...(spec.retryAfterSeconds !== undefined && { retryAfterSeconds: spec.retryAfterSeconds as number }),
    ...(spec.times !== undefined && { times: spec.times as number }),
  };
}

async function adminRoute(ctx: SandboxContext, { method, path, raw, query }: RouteRequest): Promise<Reply> {
  const device = deviceLogRoute(ctx.devices, method, path, query);
  if (device) return device;
  if (path === '/__sandbox/faults' && method === 'POST') {
    ctx.faults.inject(parseFault(raw));
    return { status: 204 };
  }
  if (path === '/__sandbox/faults' && method === 'DELETE') {
    ctx.faults.clear();
    return { status: 204 };
  }
  // --- chaos (chaos.ts): probabilistic faults, account rps limit, per-recipient counts
  if (path === '/__sandbox/chaos') {
    try {
      if (method === 'POST') return { status: 200, body: ctx.chaos.set(parseChaosJson(raw)) };
    } catch (error) {
      if (error instanceof ChaosSpecError) throw new TwilioError(400, 20001, `Invalid chaos: ${error.message}`);
      throw error;
    }
    if (method === 'GET') return { status: 200, body: { chaos: ctx.chaos.settings() } };
    if (method === 'DELETE') {
      ctx.chaos.set(null);
      return { status: 204 };
    }
  }
  if (path === '/__sandbox/counts' && method === 'GET') {
    const counts = outboundCounts(ctx.messages.everCreated());
    const to = first(query, 'to');
    if (to !== undefined) return { status: 200, body: { to, messages: counts.get(to) ?? 0 } };
    return { status: 200, body: { messages: Object.fromEntries(counts) } };
  }
  if (path === '/__sandbox/inbound' && method === 'POST') {
    const fields = JSON.parse(raw) as InboundFields;
    if (typeof fields.from !== 'string' || typeof fields.body !== 'string') {
      throw new TwilioError(400, 21602, 'from and body are required');
    }
    return { status: 200, body: await ctx.simulateInbound(fields) };
  }
  if (path === '/__sandbox/callers' && method === 'POST') {
    const spec = JSON.parse(raw) as { number?: unknown; script?: unknown };
    if (typeof spec !== 'object' || spec === null || typeof spec.number !== 'string' || spec.number === '') {
      throw new TwilioError(400, 20001, 'Invalid caller: number must be a non-empty string');
    }
    ctx.callerScripts.set(spec.number, spec.script === null || spec.script === undefined ? null : parseCallerScript(spec.script));
    return { status: 204 };
  }
  if (path === '/__sandbox/inbound-calls' && method === 'POST') {
    const spec = JSON.parse(raw) as Record<string, unknown>;
    if (typeof spec !== 'object' || spec === null || typeof spec.from !== 'string' || (spec.to !== undefined && typeof spec.to !== 'string')) {
      throw new TwilioError(400, 20001, 'Invalid inbound call: from (and to, when given) must be strings');
    }
    const fields: InboundCallFields = {
      from: spec.from,
      ...(typeof spec.to === 'string' && { to: spec.to }),
      ...(spec.script !== undefined && spec.script !== null && { script: parseCallerScript(spec.script) }),
    };
    return { status: 200, body: await ctx.simulateInboundCall(fields) };
  }
  if (path === '/__sandbox/video-participants' && method === 'POST') {
    const spec = JSON.parse(raw) as Record<string, unknown>;
    if (typeof spec !== 'object' || spec === null || typeof spec.room !== 'string' || typeof spec.identity !== 'string') {
      throw new TwilioError(400, 20001, 'Invalid video participant: room (SID or UniqueName) and identity must be strings');
    }
    return { status: 201, body: videoParticipantJson(ctx.account.sid, ctx.video.join(spec.room, spec.identity)) };
  }
  if (path === '/__sandbox/conversation-inbound' && method === 'POST') {
    const spec = JSON.parse(raw) as Record<string, unknown>;
    if (typeof spec !== 'object' || spec === null || typeof spec.from !== 'string' || typeof spec.proxy !== 'string' || typeof spec.body !== 'string') {
      throw new TwilioError(400, 20001, 'Invalid conversation inbound: from, proxy and body must be strings');
    }
    return { status: 200, body: await ctx.simulateConversationInbound({ from: spec.from, proxy: spec.proxy, body: spec.body }) };
  }
  throw notFound(path);
}
