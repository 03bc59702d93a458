/**
 * Signed webhooks, as Twilio sends them: form-encoded POST, `X-Twilio-Signature` =
 * base64(HMAC-SHA1(auth token, URL + every parameter name and value sorted by name)),
 * one `I-Twilio-Idempotency-Token` per callback (kept across its retries, so a receiver
 * can drop duplicates), `User-Agent: TwilioProxy/1.1`. A refused connection, a timeout or
 * a non-2xx answer is retried after 200 ms and 1 s, then dropped: a webhook never crashes
 * the sandbox, and close() cuts every attempt and wait short.
 *
 * Before anything is sent the URL passes the callback policy (callback-policy.ts), with its
 * host resolved when a policy is set, so a name that points at loopback is caught too.
 * Redirects are never followed: a 3xx is the answer (a redirect could lead to another
 * scheme or to loopback, round the policy).
 */
import { createHmac, randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { callbackRefusal, type CallbackPolicy } from './callback-policy.js';

export function twilioSignature(authToken: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, key) => acc + key + params[key], url);
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf-8')).digest('base64');
}

export interface WebhookResult {
  /** The last HTTP status received; undefined when no attempt got an answer. */
  status: number | undefined;
  body: string;
  attempts: number;
  /** Why nothing was sent, when the callback policy refused the URL. */
  refused?: string;
}

const RETRY_DELAYS_MS = [200, 1000];

/** Every address a host name resolves to; none when it does not resolve (fetch will say so). */
const resolveHost = (hostname: string): Promise<string[]> =>
  lookup(hostname, { all: true }).then((found) => found.map((a) => a.address), () => []);
const ATTEMPT_TIMEOUT_MS = 15_000;

export class WebhookSender {
  /** Aborted by close(): cancels requests in flight and the waits between retries. */
  private readonly closing = new AbortController();

  constructor(
    private readonly authToken: string,
    private readonly log: (line: string) => void,
    private readonly policy?: CallbackPolicy,
    private readonly resolve: (hostname: string) => Promise<string[]> = resolveHost,
  ) {}

  async post(url: string, params: Record<string, string>): Promise<WebhookResult> {
    const refused = await this.refusal(url);
    if (refused) {
      this.log(`webhook to ${url} not sent: ${refused}`);
      return { status: undefined, body: '', attempts: 0, refused };
    }
    const body = new URLSearchParams(params).toString();
    const headers = {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      'x-twilio-signature': twilioSignature(this.authToken, url, params),
      'i-twilio-idempotency-token': randomUUID(),
      'user-agent': 'TwilioProxy/1.1',
    };
    let status: number | undefined;
    let text = '';
    let attempts = 0;
    while (!this.closing.signal.aborted) {
      attempts += 1;
      // One controller per attempt, cut by its own timeout or by close() (AbortSignal.any
      // would do it, but only from Node 20.3).
      const attempt = new AbortController();
      const cut = () => attempt.abort();
      const timer = setTimeout(cut, ATTEMPT_TIMEOUT_MS);
      timer.unref();
      this.closing.signal.addEventListener('abort', cut, { once: true });
      try {
        const response = await fetch(url, { method: 'POST', headers, body, signal: attempt.signal, redirect: 'manual' });
        status = response.status;
        text = await response.text();
        if (response.ok) break;
        if (status >= 300 && status < 400) {
          this.log(`webhook to ${url} answered a redirect (${status}), which is not followed`);
          break;
        }
        this.log(`webhook to ${url} answered ${status} (attempt ${attempts})`);
      } catch (error) {
        if (this.closing.signal.aborted) break;
        this.log(`webhook to ${url} failed (attempt ${attempts}): ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        clearTimeout(timer);
        this.closing.signal.removeEventListener('abort', cut);
      }
      const delay = RETRY_DELAYS_MS[attempts - 1];
      if (delay === undefined || !(await this.wait(delay))) break;
    }
    return { status, body: text, attempts };
  }

  close(): void {
    this.closing.abort();
  }

  private async refusal(url: string): Promise<string | undefined> {
    const direct = callbackRefusal(url, this.policy);
    if (direct || !this.policy) return direct;
    const hostname = new URL(url).hostname.replace(/^\[|\]$/g, '');
    if (isIP(hostname)) return undefined;
    return callbackRefusal(url, this.policy, await this.resolve(hostname));
  }

  /** Resolves true after `ms`, or false at once if the sender closes meanwhile. */
  private wait(ms: number): Promise<boolean> {
    const signal = this.closing.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      timer.unref();
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
