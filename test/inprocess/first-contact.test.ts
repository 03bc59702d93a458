/**
 * First contact through the real server: "refuse" never messages a new number; "confirm"
 * with a client that cannot ask (no elicitation) refuses by default. Counted at the sandbox.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { reachedSandbox, startInProcess, type InProcessServer } from '../helpers/in-process.js';

const opened: InProcessServer[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

describe('first contact', () => {
  it('first_contact=refuse: a number never contacted gets nothing, by SMS or WhatsApp', async () => {
    const server = await startInProcess({ env: { TWILIO_MCP_FIRST_CONTACT: 'refuse' } });
    opened.push(server);
    const sms = '+14155550500';
    expect(await reachedSandbox(server, sms, async () => {
      const result = await server.callTool('send_sms', { to: sms, body: 'hello stranger' });
      expect(result.isError).toBe(true);
      expect(result.json.rule).toBe('first_contact');
    })).toBe(0);
    const wa = 'whatsapp:+14155550501';
    expect(await reachedSandbox(server, wa, async () => {
      expect((await server.callTool('send_whatsapp', { to: wa, content_sid: `HX${'d'.repeat(32)}` })).isError).toBe(true);
    })).toBe(0);
  });

  it('first_contact=confirm with a client that cannot ask: refused, nothing sent', async () => {
    const server = await startInProcess({ env: { TWILIO_MCP_FIRST_CONTACT: 'confirm' } });
    opened.push(server);
    const to = '+14155550502';
    expect(await reachedSandbox(server, to, async () => {
      const result = await server.callTool('send_sms', { to, body: 'may I?' });
      expect(result.isError).toBe(true);
      expect(result.json.error).toMatch(/confirm/i);
    })).toBe(0);
  });
});
