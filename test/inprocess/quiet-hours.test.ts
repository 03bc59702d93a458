/**
 * Quiet hours through the real server, deterministic at any time of day: the window is
 * built around the current time in the recipient's zone (+1 212: New York, in every
 * zone source). `transactional: true` must reach the guard from send_sms AND send_whatsapp.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quietWindowAround, quietWindowAwayFrom, reachedSandbox, startInProcess, type InProcessServer } from '../helpers/in-process.js';

const ZONE = 'America/New_York';
const TEMPLATE = `HX${'b'.repeat(32)}`;

describe('inside quiet hours', () => {
  let server: InProcessServer;
  beforeAll(async () => {
    server = await startInProcess({ env: { TWILIO_MCP_QUIET_HOURS: quietWindowAround(new Date(), ZONE) } });
  });
  afterAll(() => server?.close());

  it('refuses an SMS, and nothing reaches the sandbox', async () => {
    const to = '+12125550100';
    const reached = await reachedSandbox(server, to, async () => {
      const result = await server.callTool('send_sms', { to, body: 'late night' });
      expect(result.isError).toBe(true);
      expect(result.json).toMatchObject({ rule: 'quiet_hours', recipient_time_zone: ZONE, resumes_at: expect.any(String) });
    });
    expect(reached).toBe(0);
  });

  it('refuses a WhatsApp message too', async () => {
    const to = 'whatsapp:+12125550101';
    const reached = await reachedSandbox(server, to, async () => {
      const result = await server.callTool('send_whatsapp', { to, content_sid: TEMPLATE });
      expect(result.isError).toBe(true);
      expect(result.json.rule).toBe('quiet_hours');
    });
    expect(reached).toBe(0);
  });

  it('transactional: false is the same as leaving it out', async () => {
    const to = '+12125550104';
    const reached = await reachedSandbox(server, to, async () => {
      expect((await server.callTool('send_sms', { to, body: 'not urgent', transactional: false })).json.rule).toBe('quiet_hours');
    });
    expect(reached).toBe(0);
  });

  it('send_sms with transactional: true is sent, with a warning', async () => {
    const to = '+12125550102';
    const reached = await reachedSandbox(server, to, async () => {
      const result = await server.callTool('send_sms', { to, body: 'your code is 123456', transactional: true });
      expect(result.isError).toBe(false);
      expect(result.json.message_sid).toMatch(/^SM/);
    });
    expect(reached).toBe(1);
  });

  it('send_whatsapp with transactional: true is sent', async () => {
    const to = 'whatsapp:+12125550103';
    const reached = await reachedSandbox(server, to, async () => {
      const result = await server.callTool('send_whatsapp', { to, content_sid: TEMPLATE, transactional: true });
      expect(result.isError).toBe(false);
    });
    expect(reached).toBe(1);
  });
});

describe('outside quiet hours', () => {
  let server: InProcessServer;
  beforeAll(async () => {
    server = await startInProcess({ env: { TWILIO_MCP_QUIET_HOURS: quietWindowAwayFrom(new Date(), ZONE) } });
  });
  afterAll(() => server?.close());

  it('sends (the window, not the mere presence of quiet hours, refuses)', async () => {
    const to = '+12125550110';
    expect(await reachedSandbox(server, to, () => server.callTool('send_sms', { to, body: 'daytime' }))).toBe(1);
  });
});
