/**
 * Signed webhooks, as Twilio sends them: form-encoded POST, `X-Twilio-Signature` =
 * base64(HMAC-SHA1(auth token, URL + every parameter name and value sorted by name)),
 * a unique `I-Twilio-Idempotency-Token` per delivery. Failed deliveries are retried a
 * few times with backoff, then dropped; a webhook never crashes the sandbox.
 */
import { createHmac, randomUUID } from 'node:crypto';

export function twilioSignature(authToken: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, key) => acc + key + params[key], url);
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf-8')).digest('base64');
}

export interface WebhookResult {
  status: number | undefined;
  body: string;
  attempts: number;
}

const RETRY_DELAYS_MS = [200, 1000];

export class WebhookSender {
  private readonly pending = new Set<AbortController>();
  private closed = false;

  constructor(private readonly authToken: string, private readonly log: (line: string) => void) {}

  async post(url: string, params: Record<string, string>): Promise<WebhookResult> {
    const body = new URLSearchParams(params).toString();
    const signature = twilioSignature(this.authToken, url, params);
    const idempotencyToken = `${randomUUID()}`;
    let lastStatus: number | undefined;
    let lastBody = '';
    for (let attempt = 1; attempt <= RETRY_DELAYS_MS.length + 1 && !this.closed; attempt++) {
      const abort = new AbortController();
      this.pending.add(abort);
      const timer = setTimeout(() => abort.abort(), 15_000);
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
            'x-twilio-signature': signature,
            'i-twilio-idempotency-token': idempotencyToken,
            'user-agent': 'TwilioProxy/1.1',
          },
          body,
          signal: abort.signal,
        });
        lastStatus = response.status;
        lastBody = await response.text();
        if (response.ok) return { status: lastStatus, body: lastBody, attempts: attempt };
      } catch (error) {
        this.log(`webhook to ${url} failed: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        clearTimeout(timer);
        this.pending.delete(abort);
      }
      const delay = RETRY_DELAYS_MS[attempt - 1];
      if (delay === undefined || this.closed) break;
      await new Promise((resolve) => setTimeout(resolve, delay).unref());
    }
    return { status: lastStatus, body: lastBody, attempts: RETRY_DELAYS_MS.length + 1 };
  }

  close(): void {
    this.closed = true;
    for (const abort of this.pending) abort.abort();
  }
}
