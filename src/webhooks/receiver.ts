/**
 * The Twilio webhook receiver, mounted on the server's HTTP port (or its own port in
 * stdio mode): inbound messages, message and call status callbacks, recording callbacks.
 *
 * Order per request: read (bounded) → verify the signature against the configured public
 * URL → parse → build the change → commit (group commit) → answer. A forged or unsigned
 * request gets 403 and nothing is stored; a 200/204 means the event is on disk. Opt-out
 * keywords are applied in the same transaction as the inbound message: compliance cannot
 * be skipped. Every request is answered before `answerTimeoutMs` (Twilio gives up at 15 s).
 * An address that sent too many requests with a wrong signature is answered 429 before
 * its body is even read, so signatures cannot be probed at speed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventHub } from '../services/events.js';
import type { Ingest, OptOutChange, Store, WebhookEvent, WebhookKind } from '../store/store.js';
import { DEFAULT_AUTH_FAILURE_LIMIT, FailureLimiter, type FailureLimitOptions } from '../transports/http-guards.js';
import { log } from '../util/log.js';
import { IngestQueue } from './ingest-queue.js';
import { classifyKeyword, type KeywordKind, reportedKeyword } from './keywords.js';
import { verifySignature } from './signature.js';
import { parseVoiceRoute, type VoiceRoute, type VoiceWebhookHandler } from './voice-routes.js';

export const WEBHOOK_PREFIX = '/webhooks/twilio';
export const WEBHOOK_ROUTES: Record<string, WebhookKind> = {
  '/messages/inbound': 'inbound_message',
  '/messages/status': 'message_status',
  '/calls/status': 'call_status',
  '/recordings': 'recording',
  '/conversations': 'conversation_event',
};
export const MAX_WEBHOOK_BODY_BYTES = 64 * 1024;
export const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';
const DEFAULT_ANSWER_TIMEOUT_MS = 8000;
const REFUSAL_LOG_INTERVAL_MS = 60_000;

export interface WebhookReceiverOptions {
  /**
   * The public base URL Twilio calls (TWILIO_WEBHOOK_URL, e.g. https://abc.ngrok.app or
   * https://example.com/twilio); the request's path and query are appended to it to
   * rebuild the URL Twilio signed. Undefined: every request is refused while signatures
   * are checked.
   */
  publicBaseUrl: () => string | undefined;
  /** Tokens a signature may be made with (two during a rotation). */
  authTokens: () => Promise<string[]>;
  /** false only for local development: anyone who can reach the port can then forge webhooks. */
  verifySignatures: boolean;
  store: () => Promise<Store>;
  /** Told about every newly stored event (never about duplicates), after it is on disk. */
  events: EventHub;
  /** Answer 503 (or 408 for a slow upload) rather than hang past this; default 8 s. */
  answerTimeoutMs?: number;
  /**
   * Per-address limit on requests whose signature does not match (then 429 before the body
   * is read); default 10 a minute. Twilio's own requests always match once the URL and token
   * are right, so only a forger or a misconfiguration reaches it.
   */
  signatureFailureLimit?: FailureLimitOptions;
  /** Answers the voice routes (hosted IVR flows) with TwiML; without it they are 404. */
  voice?: () => VoiceWebhookHandler | undefined;
}

export interface WebhookReceiver {
  /** Route function for the HTTP server: false when the path is not a webhook path. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** Public URL of a route, e.g. urlFor('/messages/status'). */
  urlFor(route: keyof typeof WEBHOOK_ROUTES): string | undefined;
}

/** A request we answer with a 4xx/5xx status and a message, without storing anything. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A signature that was checked and did not match: the only refusal the failure limit counts. */
class SignatureMismatch extends Refusal {}

type Params = Record<string, string | string[]>;
const one = (params: Params, key: string): string | undefined => {
  const v = params[key];
  return Array.isArray(v) ? v[0] : v;
};
const required = (params: Params, key: string): string => {
  const v = one(params, key);
  if (!v) throw new Refusal(400, `bad webhook: missing ${key}`);
  return v;
};
const errorCodeOf = (params: Params) => {
  const code = Number(one(params, 'ErrorCode'));
  return Number.isInteger(code) && code > 0 ? code : null;
};

/** Rejects with a Refusal once `deadline` (epoch ms) passes. */
function beforeDeadline<T>(work: Promise<T>, deadline: number, refusal: () => Refusal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(refusal()), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

/**
 * Reads the body up to the limit. Past it, the rest is drained and dropped rather than the
 * stream destroyed (which would close the socket before the 413 could be sent).
 */
function readBody(req: IncomingMessage): Promise<Buffer> {
  const tooLarge = () => new Refusal(413, `body larger than ${MAX_WEBHOOK_BODY_BYTES} bytes`);
  if (Number(req.headers['content-length']) > MAX_WEBHOOK_BODY_BYTES) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_WEBHOOK_BODY_BYTES) {
        chunks.length = 0;
        reject(tooLarge());
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseForm(text: string): Params {
  const params: Params = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const existing = params[key];
    params[key] = existing === undefined ? value : [...[existing].flat(), value];
  }
  return params;
}

/** A JSON body as Params: scalars become strings, so the rest of the flow sees one shape. */
function parseJson(text: string): Params {
  let value: unknown;
  try {
    value = JSON.parse(text || '{}');
  } catch {
    throw new Refusal(400, 'bad webhook: body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Refusal(400, 'bad webhook: JSON body must be an object');
  const scalar = (v: unknown) => (typeof v === 'string' ? v : v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, Array.isArray(v) ? v.map(scalar) : scalar(v)]));
}

function flatten(params: Params): Record<string, string> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]));
}

/**
 * Twilio's Advanced Opt-Out reports the keyword class itself (OptOutType = STOP, START or
 * HELP), custom and localised keywords included; otherwise the default keywords decide.
 */
function keywordOf(params: Params, body: string): { keyword: string; kind: KeywordKind } | undefined {
  return reportedKeyword(one(params, 'OptOutType'), body) ?? classifyKeyword(body);
}

/**
 * Opt-outs apply to the messaging service AND to the number the message reached: a
 * person who texted STOP to a service's number must not be reached from that number
 * outside the service either. Opt-ins undo both.
 */
function optOutChanges(params: Params, from: string, to: string, body: string): { keyword: string | null; changes: OptOutChange[] } {
  const classified = keywordOf(params, body);
  if (!classified || classified.kind === 'help') return { keyword: classified?.keyword ?? null, changes: [] };
  const senders = [...new Set([one(params, 'MessagingServiceSid'), to].filter((s): s is string => Boolean(s)))];
  const action = classified.kind === 'opt-out' ? 'add' : 'remove';
  return {
    keyword: classified.keyword,
    changes: senders.map((sender) => ({ action, sender, recipient: from, source: 'keyword' as const, keyword: classified.keyword })),
  };
}

function buildChange(kind: WebhookKind, params: Params, now: Date): { event: WebhookEvent; change: Ingest } {
  const base = { kind, receivedAt: now, params: flatten(params), idempotencyToken: null };
  switch (kind) {
    case 'inbound_message': {
      const sid = one(params, 'MessageSid') ?? required(params, 'SmsMessageSid');
      const from = required(params, 'From');
      const to = required(params, 'To');
      const body = one(params, 'Body') ?? '';
      const numMedia = Number(one(params, 'NumMedia') ?? 0) || 0;
      // Twilio sends at most 10 media per message; NumMedia is not trusted beyond that.
      const media = Array.from({ length: Math.min(numMedia, 10) }, (_, i) => ({
        url: one(params, `MediaUrl${i}`) ?? '',
        contentType: one(params, `MediaContentType${i}`) ?? null,
      })).filter((m) => m.url);
      const { keyword, changes } = optOutChanges(params, from, to, body);
      return {
        event: { ...base, sid, status: 'received' },
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
      return { event: { ...base, sid, status }, change: { kind, sid, status, errorCode: errorCodeOf(params), at: now } };
    }
    case 'call_status': {
      const sid = required(params, 'CallSid');
      const status = required(params, 'CallStatus');
      return { event: { ...base, sid, status }, change: { kind, sid, status, errorCode: errorCodeOf(params), at: now } };
    }
    case 'conversation_event': {
      const eventType = required(params, 'EventType');
      if (eventType !== 'onMessageAdded') {
        const sid = one(params, 'MessageSid') ?? one(params, 'ParticipantSid') ?? required(params, 'ConversationSid');
        return { event: { ...base, sid, status: eventType }, change: { kind } };
      }
      // A participant's message feeds the inbox like an SMS does: wait_for_reply on its author works.
      const sid = required(params, 'MessageSid');
      const source = (one(params, 'Source') ?? '').toUpperCase();
      const author = required(params, 'Author');
      return {
        event: { ...base, sid, status: 'received' },
        change: {
          kind: 'inbound_message',
          message: {
            messageSid: sid,
            from: author,
            to: required(params, 'ConversationSid'),
            body: one(params, 'Body') ?? '',
            media: [],
            messagingServiceSid: null,
            channel: source === 'SMS' ? 'sms' : source === 'WHATSAPP' ? 'whatsapp' : 'conversation',
            profileName: null,
            keyword: null,
            receivedAt: now,
          },
          optOuts: [],
        },
      };
    }
    case 'recording': {
      const recordingSid = required(params, 'RecordingSid');
      const status = one(params, 'RecordingStatus') ?? 'completed';
      const duration = Number(one(params, 'RecordingDuration'));
      return {
        event: { ...base, sid: recordingSid, status },
        change: {
          kind,
          recordingSid,
          callSid: one(params, 'CallSid') ?? null,
          status,
          url: one(params, 'RecordingUrl') ?? null,
          durationSeconds: one(params, 'RecordingDuration') !== undefined && Number.isFinite(duration) ? duration : null,
          at: now,
        },
      };
    }
  }
}

/** Logs at most once per interval: a misconfigured URL refuses every webhook, and the log must not flood. */
function throttled(intervalMs: number) {
  let last = -Infinity;
  return (message: string) => {
    if (Date.now() - last < intervalMs) return;
    last = Date.now();
    log.warn(message);
  };
}

export function createWebhookReceiver(options: WebhookReceiverOptions): WebhookReceiver {
  const queue = new IngestQueue(options.store);
  const answerTimeoutMs = options.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS;
  const publicBase = () => options.publicBaseUrl()?.replace(/\/+$/, '');
  const warnRefusal = throttled(REFUSAL_LOG_INTERVAL_MS);
  const signatureFailures = new FailureLimiter(options.signatureFailureLimit ?? DEFAULT_AUTH_FAILURE_LIMIT);
  let warnedUnverified = false;

  const answer = (res: ServerResponse, status: number, body = '', type = 'text/plain; charset=utf-8') => {
    if (res.headersSent) return;
    // After a refusal the rest of an upload may still be on the wire: do not reuse the connection.
    const headers: Record<string, string | number> = { 'content-type': type, 'content-length': Buffer.byteLength(body) };
    if (status >= 400) headers.connection = 'close';
    res.writeHead(status, headers).end(body);
  };

  async function checkSignature(req: IncomingMessage, path: string, query: string, rawBody: Buffer, params: Params | null): Promise<void> {
    if (!options.verifySignatures) {
      if (!warnedUnverified) log.warn('Accepting webhooks WITHOUT checking their signatures (verifySignatures: false). Local development only.');
      warnedUnverified = true;
      return;
    }
    const base = publicBase();
    if (!base) {
      warnRefusal('Webhook refused: TWILIO_WEBHOOK_URL is not set, so signatures cannot be checked. Set it to the public base URL Twilio calls.');
      throw new Refusal(403, 'signature cannot be verified: TWILIO_WEBHOOK_URL is not configured');
    }
    const tokens = await options.authTokens();
    if (tokens.length === 0) {
      warnRefusal('Webhook refused: no auth token is configured to check signatures with. Set TWILIO_AUTH_TOKEN.');
      throw new Refusal(403, 'signature cannot be verified: no auth token configured');
    }
    const url = `${base}${path}${query ? `?${query}` : ''}`;
    const signature = req.headers['x-twilio-signature'];
    if (!verifySignature({ url, signature: typeof signature === 'string' ? signature : undefined, params, rawBody }, tokens)) {
      warnRefusal(
        `Webhook refused (403): ${signature ? 'its X-Twilio-Signature does not match' : 'no X-Twilio-Signature for'} ${url}. ` +
          'If these are Twilio\'s own requests, the URL configured in Twilio differs from TWILIO_WEBHOOK_URL + this path, or TWILIO_AUTH_TOKEN is not this account\'s.',
      );
      throw new SignatureMismatch(403, 'invalid or missing X-Twilio-Signature');
    }
  }

  function publish(change: Ingest): void {
    if (change.kind === 'conversation_event') return; // nothing a subscriber follows
    try {
      options.events.publish(
        change.kind === 'inbound_message'
          ? { kind: 'inbound_message', messageSid: change.message.messageSid, from: change.message.from, to: change.message.to }
          : change.kind === 'recording'
            ? { kind: 'call_status', sid: change.callSid ?? change.recordingSid, status: `recording-${change.status}` }
            : { kind: change.kind, sid: change.sid, status: change.status },
      );
    } catch (error) {
      // The event is on disk: a failing listener must not turn that into an error Twilio retries.
      log.error(`webhook listener failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    const query = queryAt === -1 ? '' : url.slice(queryAt + 1);
    if (!path.startsWith(`${WEBHOOK_PREFIX}/`)) return false;
    const kind = WEBHOOK_ROUTES[path.slice(WEBHOOK_PREFIX.length)];
    const voiceRoute = kind ? undefined : parseVoiceRoute(path.slice(WEBHOOK_PREFIX.length), query);
    const voiceHandler = voiceRoute ? options.voice?.() : undefined;
    if (!kind && !(voiceRoute && voiceHandler)) {
      answer(res, 404, `unknown webhook route; the routes are ${Object.keys(WEBHOOK_ROUTES).map((r) => WEBHOOK_PREFIX + r).join(', ')}`);
      return true;
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      answer(res, 405, 'POST only');
      return true;
    }
    if (options.verifySignatures && !signatureFailures.admit(req, res, 'webhook requests with a bad signature')) {
      req.resume();
      return true;
    }
    const deadline = Date.now() + answerTimeoutMs;
    try {
      const rawBody = await beforeDeadline(readBody(req), deadline, () => new Refusal(408, 'request body not received in time'));
      const json = /^application\/json\b/i.test(req.headers['content-type'] ?? '');
      const formParams = json ? null : parseForm(rawBody.toString('utf8'));
      // Verified before a JSON body is even parsed: an unsigned request learns nothing.
      await beforeDeadline(checkSignature(req, path, query, rawBody, formParams), deadline, () => new Refusal(503, 'signature check timed out'));
      const params = formParams ?? parseJson(rawBody.toString('utf8'));
      if (!kind) {
        const twiml = await beforeDeadline(voiceHandler!(voiceRoute as VoiceRoute, flatten(params)), deadline, () => new Refusal(503, 'the voice answer took too long'));
        answer(res, 200, twiml, 'text/xml');
        return true;
      }

      const { event, change } = buildChange(kind, params, new Date());
      const token = req.headers['i-twilio-idempotency-token'];
      event.idempotencyToken = typeof token === 'string' && token ? token : null;

      // On a timeout the write may still commit later; Twilio's retry is then a duplicate, stored once.
      const result = await beforeDeadline(queue.enqueue(event, change), deadline, () => new Refusal(503, 'storage is slow; Twilio will retry'));
      if (!result.duplicate) publish(change);
      if (kind === 'inbound_message') answer(res, 200, EMPTY_TWIML, 'text/xml');
      else answer(res, 204);
    } catch (error) {
      if (error instanceof SignatureMismatch) signatureFailures.recordFailureOf(req);
      if (error instanceof Refusal) {
        answer(res, error.status, error.message);
      } else {
        log.error(`webhook ${path}: ${error instanceof Error ? error.message : String(error)}`);
        answer(res, 500, 'internal error; Twilio will retry');
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
