/**
 * The gateway against the sandbox with injected faults: Retry-After honoured, creates
 * never sent twice, unknown outcomes reported as such.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTwilioGateway, type TwilioGateway } from '../../src/gateway/twilio-gateway.js';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { failureOf } from '../helpers/tool-failure.js';

let sandbox: SandboxHandle;
let gateway: TwilioGateway;

function gatewayFor(baseUrl: string, timeoutMs = 5000, password?: string): TwilioGateway {
  return createTwilioGateway({
    credentials: { accountSid: sandbox.accountSid, username: sandbox.accountSid, password: password ?? sandbox.authToken },
    baseUrl,
    region: undefined,
    edge: undefined,
    timeoutMs,
  });
}


async function countTo(to: string): Promise<number> {
  return (await gateway.listMessages({ to }, 50)).messages.length;
}

beforeAll(async () => {
  sandbox = await startSandbox();
  gateway = gatewayFor(sandbox.baseUrl);
});
afterEach(() => sandbox.clearFaults());
afterAll(async () => {
  await sandbox?.close();
});

describe('gateway resilience', () => {
  it('waits out a 429 Retry-After and creates exactly one message', async () => {
    const to = '+14155550201';
    sandbox.injectFault({ method: 'POST', path: /Messages\.json$/, kind: 'status', status: 429, retryAfterSeconds: 1, times: 1 });
    const started = Date.now();
    const message = await gateway.createMessage({ to, from: sandbox.testSenderNumber, body: 'after 429' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(message.status).toBe('queued');
    expect(await countTo(to)).toBe(1);
  });

  it('does not retry a create that was processed but lost its answer', async () => {
    const to = '+14155550202';
    sandbox.injectFault({ method: 'POST', path: /Messages\.json$/, kind: 'reset-after', times: 1 });
    const failure = await failureOf(gateway.createMessage({ to, from: sandbox.testSenderNumber, body: 'lost answer' }));
    expect(failure.outcomeUnknown).toBe(true);
    expect(await countTo(to)).toBe(1);
  });

  it('reports an unknown outcome when a create times out', async () => {
    const to = '+14155550203';
    sandbox.injectFault({ method: 'POST', path: /Messages\.json$/, kind: 'hang', times: 1 });
    const failure = await failureOf(gatewayFor(sandbox.baseUrl, 400).createMessage({ to, from: sandbox.testSenderNumber, body: 'slow' }));
    expect(failure.outcomeUnknown).toBe(true);
    expect(await countTo(to)).toBe(1);
  });

  it('retries a read through resets and 503s', async () => {
    const sent = await gateway.createMessage({ to: '+14155550204', from: sandbox.testSenderNumber, body: 'read me' });
    sandbox.injectFault({ method: 'GET', path: sent.sid, kind: 'reset-before', times: 1 });
    sandbox.injectFault({ method: 'GET', path: sent.sid, kind: 'status', status: 503, times: 1 });
    expect((await gateway.fetchMessage(sent.sid)).sid).toBe(sent.sid);
  });

  it('says nothing was sent when Twilio cannot be reached', async () => {
    const failure = await failureOf(gatewayFor('http://127.0.0.1:1').createMessage({ to: '+14155550205', from: '+15005550006', body: 'x' }));
    expect(failure.outcomeUnknown).toBe(false);
    expect(failure.nextStep).toMatch(/Nothing was sent/);
  }, 20_000);

  it('maps a refused login to 20003', async () => {
    const failure = await failureOf(gatewayFor(sandbox.baseUrl, 5000, 'f'.repeat(32)).fetchMessage(`SM${'0'.repeat(32)}`));
    expect(failure.twilioCode).toBe(20003);
  });
});
