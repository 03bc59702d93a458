/**
 * The duplicate window through the real server: the same text to the same number again
 * is refused and never reaches the sandbox; `allow_duplicate: true` must reach the guard
 * from send_sms AND send_whatsapp.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reachedSandbox, startInProcess, type InProcessServer } from '../helpers/in-process.js';

let server: InProcessServer;
beforeAll(async () => {
  server = await startInProcess({ env: { TWILIO_MCP_DUPLICATE_WINDOW_MINUTES: '10' } });
});
afterAll(() => server?.close());

describe('duplicate window', () => {
  it('send_sms: a second identical send is refused naming the first; allow_duplicate: true sends it', async () => {
    const to = '+14155550300';
    const first = await server.callTool('send_sms', { to, body: 'same text' });
    expect(first.isError).toBe(false);
    const again = await reachedSandbox(server, to, async () => {
      const result = await server.callTool('send_sms', { to, body: 'same text' });
      expect(result.isError).toBe(true);
      expect(result.json).toMatchObject({ rule: 'duplicate', earlier_sid: first.json.message_sid });
    });
    expect(again).toBe(0);
    const explicitFalse = await reachedSandbox(server, to, async () => {
      expect((await server.callTool('send_sms', { to, body: 'same text', allow_duplicate: false })).json.rule).toBe('duplicate');
    });
    expect(explicitFalse).toBe(0);
    const overridden = await reachedSandbox(server, to, async () => {
      expect((await server.callTool('send_sms', { to, body: 'same text', allow_duplicate: true })).isError).toBe(false);
    });
    expect(overridden).toBe(1);
  });

  it('send_sms: a different text to the same number is not a duplicate', async () => {
    const to = '+14155550301';
    expect(await reachedSandbox(server, to, async () => {
      await server.callTool('send_sms', { to, body: 'one' });
      await server.callTool('send_sms', { to, body: 'two' });
    })).toBe(2);
  });

  it('send_whatsapp: a second identical send is refused; allow_duplicate: true sends it', async () => {
    const to = 'whatsapp:+14155550302';
    const args = { to, content_sid: `HX${'c'.repeat(32)}`, content_variables: { '1': 'Ada' } };
    expect((await server.callTool('send_whatsapp', args)).isError).toBe(false);
    const again = await reachedSandbox(server, to, async () => {
      expect((await server.callTool('send_whatsapp', args)).json.rule).toBe('duplicate');
    });
    expect(again).toBe(0);
    const overridden = await reachedSandbox(server, to, async () => {
      expect((await server.callTool('send_whatsapp', { ...args, allow_duplicate: true })).isError).toBe(false);
    });
    expect(overridden).toBe(1);
  });

  it('survives a restart: the ledger on disk still knows the first send', async () => {
    const own = await startInProcess();
    try {
      const to = '+14155550303';
      expect((await own.callTool('send_sms', { to, body: 'before restart' })).isError).toBe(false);
      await own.restart();
      const reached = await reachedSandbox(own, to, async () => {
        expect((await own.callTool('send_sms', { to, body: 'before restart' })).json.rule).toBe('duplicate');
      });
      expect(reached).toBe(0);
    } finally {
      await own.close();
    }
  });
});
