/**
 * The Twilio webhook receiver, mounted on the server's HTTP port (or its own port in
 * stdio mode): inbound messages, message and call status callbacks, recording callbacks.
 *
 * Order per request: read (bounded) → verify the signature against the configured public
 * URL → build the change → commit (group commit) → answer. A forged or unsigned request
 * gets 403 and nothing is stored; a 200 means the event is on disk. Opt-out keywords are
 * applied in the same transaction as the inbound message: compliance cannot be skipped.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventHub } from '../services/events.js';
import type { Ingest, OptOutChange, Store, WebhookEvent, WebhookKind } from '../store/store.js';
import { log } from '../util/log.js';
import { IngestQueue } from './ingest-queue.js';
import { classifyKeyword } from './keywords.js';
import { verifySignature } from './signature.js';

export const WEBHOOK_PREFIX = '/webhooks/twilio';
export const WEBHOOK_ROUTES: Record<string, WebhookKind> = {
  '/messages/inbound': 'inbound_message',
  '/messages/status': 'message_status',
  '/calls/status': 'call_status',
  '/recordings': 'recording',
};
const MAX_BODY_BYTES = 64 * 1024;
const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

export interface WebhookReceiverOptions {
  /** The public base URL Twilio calls (TWILIO_WEBHOOK_URL); the request path is appended. */
  publicBaseUrl: () => string | undefined;
  /** Tokens a signature may be made with (two during a rotation). */
  authTokens: () => Promise<string[]>;
  verifySignatures: boolean;
  store: () => Promise<Store>;
  events: EventHub;
  /** Answer 503 rather than hang when the store does not commit in time (Twilio waits 15 s). */
  answerTimeoutMs?: number;
}

export interface WebhookReceiver {
  /** Route function for the HTTP server: false when the path is not a webhook path. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** Public URL of a route, e.g. urlFor('/messages/status'). */
  urlFor(route: keyof typeof WEBHOOK_ROUTES): string | undefined;
}

class BadWebhook extends Error {}

type Params = Record<string, string | string[]>;
const one = (params: Params, key: string): string | undefined => {
  const v = params[key];
  return Array.isArray(v) ? v[0] : v;
};
const required = (params: Params, key: string): string => {
  const v = one(params, key);
  if (!v) throw new BadWebhook(`missing ${key}`);
  return v;
};
const errorCodeOf = (params: Params) => {
  const code = Number(one(params, 'ErrorCode'));
  return Number.isInteger(code) && code > 0 ? code : null;
};

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BadWebhook('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseForm(text: string): Params {
  const params: Params = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const existing = params[key];
    params[key] = existing === undefined ? value : [...[existing].flat(), value];
  }
  return params;
}

function flatten(params: Params): Record<string, string> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]));
}

/** Opt-outs apply to the messaging service and to the number the message reached. */
function optOutChanges(params: Params, from: string, to: string, body: string): { keyword: string | null; changes: OptOutChange[] } {
  const classified = classifyKeyword(body);
  if (!classified || classified.kind === 'help') return { keyword: classified?.keyword ?? null, changes: [] };
  const senders = [one(params, 'MessagingServiceSid'), to].filter((s): s is string => Boolean(s));
  const action = classified.kind === 'opt-out' ? 'add' : 'remove';
  return {
    keyword: classified.keyword,
    changes: senders.map((sender) => ({ action, sender, recipient: from, source: 'keyword' as const, keyword: classified.keyword })),
  };
}

function buildChange(kind: WebhookKind, params: Params, now: Date): { event: WebhookEvent; change: Ingest } {
  const base = { kind, receivedAt: now, params: flatten(params) };
  switch (kind) {
    case 'inbound_message': {
      const sid = one(params, 'MessageSid') ?? required(params, 'SmsMessageSid');
      const from = required(params, 'From');
      const to = required(params, 'To');
      const body = one(params, 'Body') ?? '';
      const numMedia = Number(one(params, 'NumMedia') ?? 0) || 0;
      const media = Array.from({ length: Math.min(numMedia, 10) }, (_, i) => ({
        url: one(params, `MediaUrl${i}`) ?? '',
        contentType: one(params, `MediaContentType${i}`) ?? null,
      })).filter((m) => m.url);
      const { keyword, changes } = optOutChanges(params, from, to, body);
      return {
        event: { ...base, sid, status: 'received', idempotencyToken: null },
        change: {
          kind,
          message: {
            messageSid: sid,
            from,
            to,
            body,
            media,
            messagingServiceSid: one(params, 'MessagingServiceSid') ?? null,
            channel: from.startsWith('whatsapp:') ? 'whatsapp' : media.length > 0 ? 'mms' : 'sms',
            profileName: one(params, 'ProfileName') ?? null,
            keyword,
            receivedAt: now,
          },
          optOuts: changes,
        },
      };
    }
    case 'message_status': {
      const sid = one(params, 'MessageSid') ?? required(params, 'SmsSid');
      const status = one(params, 'MessageStatus') ?? required(params, 'SmsStatus');
      return { event: { ...base, sid, status, idempotencyToken: null }, change: { kind, sid, status, errorCode: errorCodeOf(params), at: now } };
    }
    case 'call_status': {
      const sid = required(params, 'CallSid');
      const status = required(params, 'CallStatus');
      return { event: { ...base, sid, status, idempotencyToken: null }, change: { kind, sid, status, errorCode: errorCodeOf(params), at: now } };
    }
    case 'recording': {
      const recordingSid = required(params, 'RecordingSid');
      const status = one(params, 'RecordingStatus') ?? 'completed';
      const duration = Number(one(params, 'RecordingDuration'));
      return {
        event: { ...base, sid: recordingSid, status, idempotencyToken: null },
        change: {
          kind,
          recordingSid,
          callSid: one(params, 'CallSid') ?? null,
          status,
          url: one(params, 'RecordingUrl') ?? null,
          durationSeconds: Number.isFinite(duration) ? duration : null,
          at: now,
        },
      };
    }
  }
}

export function createWebhookReceiver(options: WebhookReceiverOptions): WebhookReceiver {
  const queue = new IngestQueue(options.store);
  const answerTimeoutMs = options.answerTimeoutMs ?? 8000;
  const publicBase = () => options.publicBaseUrl()?.replace(/\/+$/, '');
  let warnedNoUrl = false;

  const answer = (res: ServerResponse, status: number, body = '', type = 'text/plain') => {
    if (!res.headersSent) res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) }).end(body);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = req.url ?? '/';
    const [path = '/', query = ''] = url.split('?');
    if (!path.startsWith(`${WEBHOOK_PREFIX}/`)) return false;
    const kind = WEBHOOK_ROUTES[path.slice(WEBHOOK_PREFIX.length)];
    if (!kind) {
      answer(res, 404, 'unknown webhook route');
      return true;
    }
    if (req.method !== 'POST') {
      answer(res, 405, 'POST only');
      return true;
    }
    try {
      const rawBody = await readBody(req);
      const json = (req.headers['content-type'] ?? '').includes('application/json');
      const params: Params = json ? (JSON.parse(rawBody || '{}') as Params) : parseForm(rawBody);

      if (options.verifySignatures) {
        const base = publicBase();
        if (!base) {
          if (!warnedNoUrl) log.warn('Webhook refused: TWILIO_WEBHOOK_URL is not set, so signatures cannot be checked. Set it to the public URL Twilio calls.');
          warnedNoUrl = true;
          answer(res, 403, 'signature cannot be verified: TWILIO_WEBHOOK_URL is not configured');
          return true;
        }
        const signed = {
          url: `${base}${path}${query ? `?${query}` : ''}`,
          signature: req.headers['x-twilio-signature'] as string | undefined,
          params: json ? {} : params,
          rawBody,
        };
        if (!verifySignature(signed, await options.authTokens())) {
          answer(res, 403, 'invalid or missing X-Twilio-Signature');
          return true;
        }
      }

      const { event, change } = buildChange(kind, params, new Date());
      const token = req.headers['i-twilio-idempotency-token'];
      event.idempotencyToken = typeof token === 'string' && token ? token : null;

      let timer: NodeJS.Timeout | undefined;
      const result = await Promise.race([
        queue.enqueue(event, change),
        new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), answerTimeoutMs))),
      ]).finally(() => clearTimeout(timer));
      if (result === 'timeout') {
        answer(res, 503, 'storage is slow; Twilio will retry');
        return true;
      }
      if (!result.duplicate) {
        options.events.publish(
          change.kind === 'inbound_message'
            ? { kind: 'inbound_message', messageSid: change.message.messageSid, from: change.message.from, to: change.message.to }
            : change.kind === 'recording'
              ? { kind: 'call_status', sid: change.callSid ?? change.recordingSid, status: `recording-${change.status}` }
              : { kind: change.kind, sid: change.sid, status: change.status },
        );
      }
      if (kind === 'inbound_message') answer(res, 200, EMPTY_TWIML, 'text/xml');
      else answer(res, 204);
    } catch (error) {
      if (error instanceof BadWebhook || error instanceof SyntaxError) {
        answer(res, 400, `bad webhook: ${error.message}`);
      } else {
        log.error(`webhook ${path}: ${error instanceof Error ? error.message : String(error)}`);
        answer(res, 500, 'internal error');
      }
    }
    return true;
  }

  return {
    handle,
    urlFor: (route) => {
      const base = publicBase();
      return base ? `${base}${WEBHOOK_PREFIX}${route}` : undefined;
    },
  };
}
