/** Raw HTTP against a sandbox, as any Twilio client would speak it: form bodies, Basic auth. */
import type { SandboxHandle } from '../../src/sandbox/index.js';

export type Form = Record<string, string | string[] | undefined>;

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

export function formBody(form: Form): string {
  const body = new URLSearchParams();
  for (const [key, value] of Object.entries(form)) {
    if (value === undefined) continue;
    for (const v of [value].flat()) body.append(key, v);
  }
  return body.toString();
}

export interface CallResult {
  status: number;
  headers: Headers;
  json: any;
}

export function client(sandbox: SandboxHandle) {
  const auth = basicAuth(sandbox.accountSid, sandbox.authToken);
  const root = `/2010-04-01/Accounts/${sandbox.accountSid}`;
  const call = async (method: string, path: string, form?: Form, init: { authorization?: string; timeoutMs?: number } = {}): Promise<CallResult> => {
    const response = await fetch(`${sandbox.baseUrl}${path}`, {
      method,
      headers: { authorization: init.authorization ?? auth, ...(form && { 'content-type': 'application/x-www-form-urlencoded' }) },
      body: form ? formBody(form) : undefined,
      signal: AbortSignal.timeout(init.timeoutMs ?? 5000),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
  };
  return {
    call,
    root,
    messagesPath: `${root}/Messages.json`,
    messagePath: (sid: string) => `${root}/Messages/${sid}.json`,
    send: (form: Form) => call('POST', `${root}/Messages.json`, form),
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns a value, within a bounded time. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 5000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}
