/**
 * First-contact confirmation counts only as the answer to a request this server issued for
 * this very call. A client in manual mode (2026-07-28, no auto-fulfilment) plays every part
 * by hand: unsolicited answers, an answer with a forged or reused request state, an answer
 * carried over to other arguments. What reached the embedded sandbox is counted each time.
 * In-process (real startApp + createServer behind the real HTTP transport on loopback: the
 * 2026-07-28 revision is served by createMcpHandler), so mutants show.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpApp, type HttpApp } from '../helpers/http-app.js';

const ACCEPT = { confirm_first_contact: { action: 'accept', content: { confirm: true } } };
let served: HttpApp;
let client: HttpApp['client'];

beforeAll(async () => {
  served = await startHttpApp({ name: 'manual-confirm', env: { TWILIO_MCP_FIRST_CONTACT: 'confirm', TWILIO_MCP_QUIET_HOURS: 'off', TWILIO_SANDBOX_DELIVERY_MS: '60000' } });
  client = served.client;
  expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
});

afterAll(async () => {
  await served?.close();
});

/** Outgoing messages the sandbox holds for `to`, read from its own REST API. */
const atSandbox = (to: string) => served.atSandbox(to);

type Round = { resultType?: string; requestState?: string; inputRequests?: Record<string, unknown>; isError?: boolean; content?: Array<{ text?: string }> };
const call = (args: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  client.callTool({ name: 'send_sms', arguments: args, ...extra } as never, { allowInputRequired: true } as never) as Promise<Round>;

describe('first-contact confirmation', () => {
  it('asks, and a confirmation carrying this request state sends exactly once', async () => {
    const args = { to: '+14155550930', body: 'first hello' };
    const asked = await call(args);
    expect(asked.resultType).toBe('input_required');
    expect(Object.keys(asked.inputRequests ?? {})).toEqual(['confirm_first_contact']);
    expect(await atSandbox(args.to)).toBe(0);

    const confirmed = await call(args, { inputResponses: ACCEPT, requestState: asked.requestState });
    expect(confirmed.isError).toBeFalsy();
    expect(await atSandbox(args.to)).toBe(1);

    // The same state again (a replay) sends nothing more.
    await call({ to: '+14155550930', body: 'first hello' }, { inputResponses: ACCEPT, requestState: asked.requestState });
    expect(await atSandbox(args.to)).toBe(1);
  });

  it('an unsolicited "accept" on the first call is not a confirmation: the server asks', async () => {
    const args = { to: '+14155550931', body: 'hello, unasked' };
    const result = await call(args, { inputResponses: ACCEPT });
    expect(result.resultType).toBe('input_required');
    expect(await atSandbox(args.to)).toBe(0);
  });

  it('a confirmation for one send does not confirm different arguments', async () => {
    const asked = await call({ to: '+14155550932', body: 'the text the user saw' });
    expect(asked.resultType).toBe('input_required');
    const swapped = await call({ to: '+14155550933', body: 'something else' }, { inputResponses: ACCEPT, requestState: asked.requestState });
    expect(swapped.resultType).toBe('input_required');
    expect(await atSandbox('+14155550932')).toBe(0);
    expect(await atSandbox('+14155550933')).toBe(0);
  });

  it('a forged request state is refused before the tool runs', async () => {
    const forged = Buffer.from(JSON.stringify({ p: { tool: 'send_sms', nonce: 'x' }, exp: 9_999_999_999 })).toString('base64url');
    await expect(call({ to: '+14155550934', body: 'forged' }, { inputResponses: ACCEPT, requestState: `v1.${forged}.AAAA` })).rejects.toThrow(/requestState/i);
    expect(await atSandbox('+14155550934')).toBe(0);
  });

  it('a decline through our own request sends nothing and says so', async () => {
    const args = { to: '+14155550935', body: 'declined' };
    const asked = await call(args);
    const declined = await call(args, { inputResponses: { confirm_first_contact: { action: 'decline' } }, requestState: asked.requestState });
    expect(declined.isError).toBe(true);
    expect(declined.content?.[0]?.text).toMatch(/did not confirm/);
    expect(await atSandbox(args.to)).toBe(0);
  });
});
