/**
 * Maps a request (method + path) to the emulated resource. Routes on the path alone:
 * clients that rewrite `https://<product>.twilio.com/...` to the sandbox may add an
 * `X-Twilio-Product-Host` header, but the emulated paths do not collide (`/2010-04-01/…`
 * is api.twilio.com, `/v1/Services/MG…` is messaging.twilio.com).
 */
import { type Account, accountJson, phoneNumberJson } from './account.js';
import { callbackRefusal, type CallbackPolicy } from './callback-policy.js';
import type { FaultInjector, SandboxFault } from './faults.js';
import { dateSentFilter, mediaJson, messageJson, type MessageStore } from './messages.js';
import { isMessagingPath, messagingRoute } from './messaging-services.js';
import { paginate } from './paging.js';
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

export interface SandboxContext {
  account: Account;
  messages: MessageStore;
  faults: FaultInjector;
  callbackPolicy: CallbackPolicy | undefined;
  simulateInbound(fields: InboundFields): Promise<InboundResult>;
}

export interface RouteRequest {
  method: string;
  path: string;
  query: Params;
  form: Params;
  /** The raw body: admin routes take JSON. */
  raw: string;
}

export function notFound(path: string): TwilioError {
  return new TwilioError(404, 20404, `The requested resource ${path} was not found`);
}

const ACCOUNT_PATH = /^\/2010-04-01\/Accounts\/(AC[0-9a-fA-F]{32})(\/.*|\.json)$/;
const MESSAGE_PATH = /^\/Messages\/((?:SM|MM)[0-9a-f]{32})(\.json|\/Media\.json|\/Media\/(ME[0-9a-f]{32})\.json)$/;
const NUMBER_PATH = /^\/IncomingPhoneNumbers\/(PN[0-9a-f]{32})\.json$/;

export async function route(ctx: SandboxContext, req: RouteRequest): Promise<Reply> {
  const { method, path, query, form } = req;
  if (path.startsWith('/__sandbox/')) return adminRoute(ctx, req);

  const { account, messages } = ctx;
  if (isMessagingPath(path)) return messagingRoute(account, method, path, query);
  // Another account's path answers 404, never 403: Twilio does not confirm that a
  // resource it will not show you exists.
  const accountMatch = ACCOUNT_PATH.exec(path);
  if (!accountMatch || accountMatch[1] !== account.sid) throw notFound(path);
  const rest = accountMatch[2]!;
  const base = `/2010-04-01/Accounts/${account.sid}`;

  if (rest === '.json' && method === 'GET') return { status: 200, body: accountJson(account) };

  if (rest === '/Messages.json') {
    if (method === 'POST') return { status: 201, body: messageJson(account.sid, messages.create(form)) };
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

  if (rest === '/IncomingPhoneNumbers.json' && method === 'GET') {
    const wanted = first(query, 'PhoneNumber');
    const items = account.numbers.filter((n) => !wanted || n.phoneNumber === wanted);
    return {
      status: 200,
      body: paginate(items, query, `${base}/IncomingPhoneNumbers.json`, 'incoming_phone_numbers', (n) => phoneNumberJson(account, n)),
    };
  }
  const numberMatch = NUMBER_PATH.exec(rest);
  if (numberMatch) {
    const number = account.numbers.find((n) => n.sid === numberMatch[1]);
    if (!number) throw notFound(path);
    if (method === 'POST') {
      for (const [param, field] of [['SmsUrl', 'smsUrl'], ['VoiceUrl', 'voiceUrl'], ['StatusCallback', 'statusCallback']] as const) {
        const value = first(form, param);
        if (value !== undefined) {
          const why = value === '' ? undefined : /^https?:\/\/\S+$/.test(value) ? callbackRefusal(value, ctx.callbackPolicy) : 'it is not an http(s) URL';
          if (why) throw new TwilioError(400, 21502, `Invalid ${param} ${value}: ${why}.`);
          number[field] = value || null;
        }
      }
      const smsMethod = first(form, 'SmsMethod');
      if (smsMethod) number.smsMethod = smsMethod;
      number.dateUpdated = new Date();
    }
    if (method === 'GET' || method === 'POST') return { status: 200, body: phoneNumberJson(account, number) };
  }

  throw notFound(path);
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

async function adminRoute(ctx: SandboxContext, { method, path, raw }: RouteRequest): Promise<Reply> {
  if (path === '/__sandbox/faults' && method === 'POST') {
    ctx.faults.inject(parseFault(raw));
    return { status: 204 };
  }
  if (path === '/__sandbox/faults' && method === 'DELETE') {
    ctx.faults.clear();
    return { status: 204 };
  }
  if (path === '/__sandbox/inbound' && method === 'POST') {
    const fields = JSON.parse(raw) as InboundFields;
    if (typeof fields.from !== 'string' || typeof fields.body !== 'string') {
      throw new TwilioError(400, 21602, 'from and body are required');
    }
    return { status: 200, body: await ctx.simulateInbound(fields) };
  }
  throw notFound(path);
}
