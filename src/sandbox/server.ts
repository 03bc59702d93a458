/**
 * The sandbox's HTTP surface: Basic auth, routing to the emulated resources, fault
 * injection, and the emulator's own admin routes under /__sandbox/.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type Account, accountJson, phoneNumberJson } from './account.js';
import type { WebhookSender } from './callbacks.js';
import type { FaultInjector, SandboxFault } from './faults.js';
import { dateSentFilter, mediaJson, messageJson, type MessageStore } from './messages.js';
import { paginate } from './paging.js';
import { first, parseParams, parseQuery, readBody, sendError, sendJson, TwilioError, type Params } from './wire.js';

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface SandboxContext {
  account: Account;
  messages: MessageStore;
  faults: FaultInjector;
  webhooks: WebhookSender;
  simulateInbound(fields: InboundFields): Promise<InboundResult>;
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
}

function authorized(req: IncomingMessage, account: Account): boolean {
  const match = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
  if (!match) return false;
  const [user, ...rest] = Buffer.from(match[1]!, 'base64').toString('utf8').split(':');
  const expected = Buffer.from(`${account.sid}:${account.authToken}`);
  const given = Buffer.from(`${user}:${rest.join(':')}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function notFound(path: string): TwilioError {
  return new TwilioError(404, 20404, `The requested resource ${path} was not found`);
}

async function route(ctx: SandboxContext, method: string, path: string, query: Params, form: Params, raw: string): Promise<Reply> {
  const { account, messages } = ctx;
  const base = `/2010-04-01/Accounts/${account.sid}`;

  if (path.startsWith('/__sandbox/')) return adminRoute(ctx, method, path, raw);

  const accountMatch = /^\/2010-04-01\/Accounts\/(AC[0-9a-fA-F]{32})(\/.*|\.json)$/.exec(path);
  if (!accountMatch || accountMatch[1] !== account.sid) throw notFound(path);
  const rest = accountMatch[2]!;

  if (rest === '.json' && method === 'GET') return { status: 200, body: accountJson(account) };

  if (rest === '/Messages.json') {
    if (method === 'POST') return { status: 201, body: messageJson(account.sid, messages.create(form)) };
    if (method === 'GET') {
      const to = first(query, 'To');
      const from = first(query, 'From');
      const sent = dateSentFilter(query);
      const items = messages.all().filter((m) => (!to || m.to === to) && (!from || m.from === from) && sent(m));
      return { status: 200, body: paginate(items, query, `${base}/Messages.json`, 'messages', (m) => messageJson(account.sid, m)) };
    }
  }

  const messageMatch = /^\/Messages\/((?:SM|MM)[0-9a-f]{32})(\.json|\/Media\.json|\/Media\/(ME[0-9a-f]{32})\.json)$/.exec(rest);
  if (messageMatch) {
    const [, sid, tail, mediaSid] = messageMatch as unknown as [string, string, string, string | undefined];
    if (tail === '.json') {
      if (method === 'GET') return { status: 200, body: messageJson(account.sid, messages.require(sid)) };
      if (method === 'POST') return { status: 200, body: messageJson(account.sid, messages.update(sid, form)) };
      if (method === 'DELETE') {
        messages.delete(sid);
        return { status: 204 };
      }
    }
    const message = messages.get(sid);
    if (!message) throw notFound(path);
    if (tail === '/Media.json' && method === 'GET') {
      return {
        status: 200,
        body: paginate(message.media, query, `${base}/Messages/${sid}/Media.json`, 'media_list', (m) => mediaJson(account.sid, message, m)),
      };
    }
    const media = message.media.find((m) => m.sid === mediaSid);
    if (media && method === 'GET') return { status: 200, body: mediaJson(account.sid, message, media) };
    throw notFound(path);
  }

  if (rest === '/IncomingPhoneNumbers.json' && method === 'GET') {
    const wanted = first(query, 'PhoneNumber');
    const items = account.numbers.filter((n) => !wanted || n.phoneNumber === wanted);
    return { status: 200, body: paginate(items, query, `${base}/IncomingPhoneNumbers.json`, 'incoming_phone_numbers', (n) => phoneNumberJson(account, n)) };
  }
  const numberMatch = /^\/IncomingPhoneNumbers\/(PN[0-9a-f]{32})\.json$/.exec(rest);
  if (numberMatch) {
    const number = account.numbers.find((n) => n.sid === numberMatch[1]);
    if (!number) throw notFound(path);
    if (method === 'POST') {
      for (const [param, field] of [['SmsUrl', 'smsUrl'], ['VoiceUrl', 'voiceUrl'], ['StatusCallback', 'statusCallback']] as const) {
        const value = first(form, param);
        if (value !== undefined) {
          if (value !== '' && !/^https?:\/\/\S+$/.test(value)) throw new TwilioError(400, 21502, `Invalid ${param}: ${value}`);
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

async function adminRoute(ctx: SandboxContext, method: string, path: string, raw: string): Promise<Reply> {
  if (path === '/__sandbox/faults' && method === 'POST') {
    const spec = JSON.parse(raw) as Omit<SandboxFault, 'path'> & { path: string };
    ctx.faults.inject({ ...spec, path: new RegExp(spec.path) });
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

export function createSandboxHttpServer(ctx: SandboxContext, log: (line: string) => void): { server: Server; hanging: Set<ServerResponse> } {
  const hanging = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    void (async () => {
      const method = (req.method ?? 'GET').toUpperCase();
      const [path = '/', search = ''] = (req.url ?? '/').split('?');
      const fault = ctx.faults.take(method, path);
      if (fault?.kind === 'reset-before') {
        req.socket.destroy();
        return;
      }
      if (fault?.kind === 'status') {
        const status = fault.status ?? 500;
        const headers: Record<string, string> = fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {};
        const code = status === 429 ? 20429 : status === 503 ? 20503 : 20500;
        sendError(res, new TwilioError(status, code, status === 429 ? 'Too Many Requests' : 'Service unavailable'), headers);
        return;
      }
      if (!authorized(req, ctx.account)) {
        sendError(res, new TwilioError(401, 20003, 'Authenticate'), { 'www-authenticate': 'Basic realm="Twilio API"' });
        return;
      }
      let reply: Reply;
      try {
        const raw = method === 'GET' || method === 'DELETE' ? '' : await readBody(req);
        const form = (req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded') ? parseParams(raw) : new Map();
        reply = await route(ctx, method, path, parseQuery(search), form, raw);
      } catch (error) {
        if (error instanceof TwilioError) reply = { status: error.status, body: { code: error.code, message: error.message, more_info: `https://www.twilio.com/docs/errors/${error.code}`, status: error.status } };
        else if (error instanceof SyntaxError) reply = { status: 400, body: { code: 20001, message: `Invalid JSON: ${error.message}`, more_info: 'https://www.twilio.com/docs/errors/20001', status: 400 } };
        else {
          log(`internal error on ${method} ${path}: ${error instanceof Error ? error.stack : String(error)}`);
          reply = { status: 500, body: { code: 20500, message: 'Internal Server Error', more_info: 'https://www.twilio.com/docs/errors/20500', status: 500 } };
        }
      }
      if (fault?.kind === 'reset-after') {
        req.socket.destroy();
        return;
      }
      if (fault?.kind === 'hang') {
        hanging.add(res);
        return;
      }
      if (reply.body === undefined) {
        res.writeHead(reply.status, reply.headers).end();
      } else {
        sendJson(res, reply.status, reply.body, reply.headers);
      }
    })();
  });
  return { server, hanging };
}
