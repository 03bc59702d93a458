/** Dry run and read-only through the real server: nothing reaches the sandbox. */
import { afterEach, describe, expect, it } from 'vitest';
import { reachedSandbox, startInProcess, type InProcessServer } from '../helpers/in-process.js';

const opened: InProcessServer[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

describe('dry run', () => {
  it('checks and answers what would be sent; the sandbox receives nothing, by SMS or WhatsApp', async () => {
    const server = await startInProcess({ env: { TWILIO_MCP_DRY_RUN: 'true' } });
    opened.push(server);
    const to = '+14155550700';
    expect(await reachedSandbox(server, to, async () => {
      const result = await server.callTool('send_sms', { to, body: 'dry' });
      expect(result.isError).toBe(false);
      expect(result.json).toMatchObject({ dry_run: true, to, body: 'dry' });
    })).toBe(0);
    const wa = 'whatsapp:+14155550701';
    expect(await reachedSandbox(server, wa, async () => {
      expect((await server.callTool('send_whatsapp', { to: wa, content_sid: `HX${'f'.repeat(32)}` })).json.dry_run).toBe(true);
    })).toBe(0);
  });

  it('still refuses what the policy refuses', async () => {
    const server = await startInProcess({ env: { TWILIO_MCP_DRY_RUN: 'true' } });
    opened.push(server);
    expect((await server.callTool('send_sms', { to: '+447700900125', body: 'abroad' })).json.rule).toBe('allowed_countries');
  });
});

describe('read-only', () => {
  for (const how of ['option', 'env'] as const) {
    it(`lists no send tool and sends nothing when called anyway (${how === 'option' ? '--read-only' : 'TWILIO_MCP_READ_ONLY=1'})`, async () => {
      const server = await startInProcess(how === 'option' ? { readOnly: true } : { env: { TWILIO_MCP_READ_ONLY: '1' } });
      opened.push(server);
      const { tools } = await server.client.listTools();
      const names = tools.map((t) => t.name);
      expect(names).toContain('get_message');
      for (const hidden of ['send_sms', 'send_whatsapp', 'cancel_message', 'add_opt_out', 'remove_opt_out', 'configure_webhooks']) expect(names).not.toContain(hidden);
      for (const tool of tools) expect(tool.annotations?.readOnlyHint).toBe(true);
      const to = '+14155550710';
      expect(await reachedSandbox(server, to, async () => {
        const outcome = await server.client.callTool({ name: 'send_sms', arguments: { to, body: 'sneaky' } }).then(
          (r) => r.isError === true,
          () => true,
        );
        expect(outcome).toBe(true);
      })).toBe(0);
    });
  }
});
