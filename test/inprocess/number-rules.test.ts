/**
 * Who may be contacted — deny list, allow list, destination countries — through the real
 * server in-process. Every refusal is counted at the sandbox: nothing may reach it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reachedSandbox, startInProcess, type InProcessServer } from '../helpers/in-process.js';

let server: InProcessServer;

beforeAll(async () => {
  server = await startInProcess({
    env: {
      // +44 is on the allow list so the country rule (US only, the sender's country) is what refuses GB.
      TWILIO_MCP_ALLOW_NUMBERS: '+1415555,+44',
      TWILIO_MCP_DENY_NUMBERS: '+14155550199',
    },
  });
});
afterAll(() => server?.close());

describe('number rules', () => {
  it('sends to a number the lists allow (the control: the refusals below are not a broken send path)', async () => {
    const to = '+14155550100';
    const reached = await reachedSandbox(server, to, async () => {
      const result = await server.callTool('send_sms', { to, body: 'allowed' });
      expect(result.isError).toBe(false);
      expect(result.json).toMatchObject({ to, message_sid: expect.stringMatching(/^SM/) });
    });
    expect(reached).toBe(1);
  });

  it('refuses a number on the deny list, even though the allow list matches it', async () => {
    const to = '+14155550199';
    const reached = await reachedSandbox(server, to, async () => {
      const result = await server.callTool('send_sms', { to, body: 'denied' });
      expect(result.isError).toBe(true);
      expect(result.json).toMatchObject({ rule: 'deny_numbers', next_step: expect.any(String) });
    });
    expect(reached).toBe(0);
  });

  it('refuses the deny list on WhatsApp too', async () => {
    const to = 'whatsapp:+14155550199';
    const reached = await reachedSandbox(server, to, async () => {
      const result = await server.callTool('send_whatsapp', { to, content_sid: `HX${'a'.repeat(32)}` });
      expect(result.isError).toBe(true);
      expect(result.json.rule).toBe('deny_numbers');
    });
    expect(reached).toBe(0);
  });

  it('refuses a number not on the allow list', async () => {
    const to = '+13125550100';
    const reached = await reachedSandbox(server, to, async () => {
      const result = await server.callTool('send_sms', { to, body: 'not listed' });
      expect(result.isError).toBe(true);
      expect(result.json.rule).toBe('allow_numbers');
    });
    expect(reached).toBe(0);
  });

  it('refuses a destination country other than the sender\'s', async () => {
    const to = '+447700900123';
    const reached = await reachedSandbox(server, to, async () => {
      const result = await server.callTool('send_sms', { to, body: 'abroad' });
      expect(result.isError).toBe(true);
      expect(result.json).toMatchObject({ rule: 'allowed_countries', destination_country: 'GB' });
    });
    expect(reached).toBe(0);
  });
});

describe('allowed countries set by the operator', () => {
  let open: InProcessServer;
  beforeAll(async () => {
    open = await startInProcess({ env: { TWILIO_MCP_ALLOWED_COUNTRIES: 'US,GB' } });
  });
  afterAll(() => open?.close());

  it('sends to a listed country and refuses an unlisted one', async () => {
    expect(await reachedSandbox(open, '+447700900124', () => open.callTool('send_sms', { to: '+447700900124', body: 'to GB' }))).toBe(1);
    const to = '+33612345678';
    const reached = await reachedSandbox(open, to, async () => {
      const result = await open.callTool('send_sms', { to, body: 'to FR' });
      expect(result.isError).toBe(true);
      expect(result.json).toMatchObject({ rule: 'allowed_countries', destination_country: 'FR' });
    });
    expect(reached).toBe(0);
  });
});
