/**
 * The HTTP client the official `twilio` SDK uses for every request (its `httpClient`
 * option). It adds what the SDK lacks: a base-URL rewrite so one sandbox port can stand
 * in for every Twilio host, and a retry policy that honours Retry-After and never
 * re-sends a create that may already have happened.
 */
import { Agent as HttpAgent } from 'node:http';
import type TwilioSDK from 'twilio';
import { decideAfterError, decideAfterResponse, parseRetryAfter } from './retry-policy.js';

/** Thrown when a create may or may not have reached Twilio (timeout, reset after sending). */
export class OutcomeUnknownError extends Error {
  constructor(readonly method: string, readonly url: string, readonly causeCode: string | undefined) {
    super(`The ${method} request may have reached Twilio, but no answer came back (${causeCode ?? 'connection lost'}).`);
    this.name = 'OutcomeUnknownError';
  }
}

/** Thrown when Twilio could not be reached at all, after retries. */
export class TwilioUnreachableError extends Error {
  constructor(readonly causeCode: string | undefined, message: string) {
    super(message);
    this.name = 'TwilioUnreachableError';
  }
}

/**
 * Twilio answered "not now" (429, or 503) with a Retry-After this client did not wait out
 * itself (it ran out of attempts, or the wait was longer than it waits): Twilio's error with
 * the wait attached, because the SDK's RestException drops the response headers and a
 * caller with a queue (the campaign engine) should wait exactly as long as asked.
 */
export class RetryLaterError extends Error {
  readonly code: number | undefined;
  readonly moreInfo: string | undefined;
  constructor(readonly status: number, body: unknown, readonly retryAfterSeconds: number) {
    const parsed = parseBody(body);
    super(typeof parsed.message === 'string' ? parsed.message : `HTTP ${status}`);
    this.name = 'RetryLaterError';
    this.code = typeof parsed.code === 'number' ? parsed.code : undefined;
    this.moreInfo = typeof parsed.more_info === 'string' ? parsed.more_info : undefined;
  }
}

function parseBody(body: unknown): Record<string, unknown> {
  if (body && typeof body === 'object') return body as Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(String(body));
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export interface RequestClientTarget {
  /** Sandbox base URL (e.g. http://127.0.0.1:4010); undefined for the real Twilio hosts. */
  baseUrl: string | undefined;
  timeoutMs: number;
}

type RequestClientClass = typeof TwilioSDK.RequestClient;
// The SDK's request option and response types are generic; this client only routes them.
type RequestOptions = Parameters<InstanceType<RequestClientClass>['request']>[0];
type RequestResponse = Awaited<ReturnType<InstanceType<RequestClientClass>['request']>>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function errorCodeOf(error: unknown): string | undefined {
  const e = error as { code?: unknown; cause?: { code?: unknown } };
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return undefined;
}

function headerValue(headers: unknown, name: string): unknown {
  if (!headers || typeof headers !== 'object') return undefined;
  const h = headers as Record<string, unknown> & { get?: (n: string) => unknown };
  return typeof h.get === 'function' ? h.get(name) : (h[name] ?? h[name.toLowerCase()]);
}

export function createResilientRequestClient(Base: RequestClientClass, target: RequestClientTarget): InstanceType<RequestClientClass> {
  class ResilientRequestClient extends Base {
    override async request<TData>(opts: RequestOptions): Promise<RequestResponse & { body: TData }> {
      const routed = { ...opts, headers: { ...(opts.headers ?? {}) } } as RequestOptions & { headers: Record<string, string> };
      if (target.baseUrl) {
        const original = new URL(opts.uri);
        routed.uri = `${target.baseUrl}${original.pathname}${original.search}`;
        routed.headers['X-Twilio-Product-Host'] = original.host;
      }
      routed.timeout = target.timeoutMs;
      const method = String(opts.method).toUpperCase();

      for (let attempt = 1; ; attempt++) {
        let response: RequestResponse;
        try {
          response = await super.request(routed);
        } catch (error) {
          const code = errorCodeOf(error);
          const decision = decideAfterError({ method, url: opts.uri, attempt }, code);
          if (decision.action === 'retry') {
            await sleep(decision.delayMs);
            continue;
          }
          if (decision.action === 'outcome-unknown') throw new OutcomeUnknownError(method, opts.uri, code);
          throw new TwilioUnreachableError(code, `Could not reach Twilio (${code ?? 'network error'}) after ${attempt} attempt(s).`);
        }
        const retryAfter = headerValue(response.headers, 'retry-after');
        const decision = decideAfterResponse({ method, url: opts.uri, attempt }, response.statusCode, retryAfter);
        if (decision.action === 'retry') {
          await sleep(decision.delayMs);
          continue;
        }
        const askedMs = response.statusCode === 429 || response.statusCode === 503 ? parseRetryAfter(retryAfter) : undefined;
        if (askedMs !== undefined) throw new RetryLaterError(response.statusCode, response.body, askedMs / 1000);
        return response as RequestResponse & { body: TData };
      }
    }
  }
  const client = new ResilientRequestClient({ timeout: target.timeoutMs, keepAlive: true });
  // The SDK keeps connections alive for https only; a sandbox on plain http would pay a new
  // TCP connection per request without this.
  if (target.baseUrl?.startsWith('http:')) client.axios.defaults.httpAgent = new HttpAgent({ keepAlive: true, timeout: target.timeoutMs });
  return client;
}
