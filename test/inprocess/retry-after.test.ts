/**
 * A 429 whose Retry-After is longer than the gateway waits by itself reaches the caller
 * with the wait Twilio asked for (the SDK's RestException drops headers), so a queue (the
 * campaign engine) can wait exactly that long; and a refused connection says nothing was
 * sent. Counted at the sandbox: nothing went out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';

describe('Twilio asks to retry later', () => {
  let server: InProcessServer;
  beforeAll(async () => {
    server = await startInProcess({ toolsets: 'messaging' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('a 429 with Retry-After 45 s gives retry_after_seconds 45 and sends nothing', async () => {
    const to = '+14155550987';
    const sandbox = await server.sandbox();
    sandbox.setChaos({ rate429: 1, retryAfterSeconds: 45, paths: ['/Messages.json'], methods: ['POST'] });
    try {
      const before = await server.sandboxMessagesTo(to);
      const result = await server.callTool('send_sms', { to, body: 'retry later please' });
      expect(result.isError).toBe(true);
      expect(result.json).toMatchObject({ retry_after_seconds: 45, twilio_code: expect.any(Number) });
      expect(result.json.next_step).toMatch(/Nothing was sent.*45 s/);
      sandbox.setChaos(null);
      expect((await server.sandboxMessagesTo(to)) - before).toBe(0);
    } finally {
      sandbox.setChaos(null);
    }
  });
});
