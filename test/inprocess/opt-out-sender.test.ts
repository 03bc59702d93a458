/**
 * Issue 7, part 2: "`sender` on opt-out tools is validated … an empty or unknown sender is
 * refused, not silently useless". Under opt_out_scope "sender" an opt-out for a number the
 * account never sends from answered `opted_out: true` and blocked nothing; now it is refused
 * with the senders that exist, nothing is stored, and the account's own senders (its number,
 * its Messaging Service, its WhatsApp sender) are accepted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_MESSAGING_SERVICE_SID, TEST_SENDER } from '../../src/sandbox/constants.js';
import { reachedSandbox, startInProcess, type InProcessServer } from '../helpers/in-process.js';

let server: InProcessServer;
beforeAll(async () => {
  server = await startInProcess({ env: { TWILIO_MCP_OPT_OUT_SCOPE: 'sender' } });
});
afterAll(() => server?.close());

describe('add_opt_out with a sender', () => {
  it('refuses a sender that is not the account\'s, names the senders that are, and stores nothing', async () => {
    const recipient = '+14155550611';
    const result = await server.callTool('add_opt_out', { recipient, sender: '+14155550000' });
    expect(result.isError).toBe(true);
    expect(String(result.json.error)).toContain('+14155550000 is not one of this account\'s senders');
    expect(String(result.json.next_step)).toMatch(/Leave "sender" out/);
    expect(String(result.json.next_step)).toContain(TEST_SENDER);
    expect(String(result.json.next_step)).toContain(SANDBOX_MESSAGING_SERVICE_SID);
    const listed = await server.callTool('list_opt_outs', { recipient });
    expect(listed.json.opt_outs).toEqual([]);
    // And the person is still reachable: the refusal did not pretend to opt them out.
    const reached = await reachedSandbox(server, recipient, async () => {
      expect((await server.callTool('send_sms', { to: recipient, body: 'still reachable' })).isError).toBe(false);
    });
    expect(reached).toBe(1);
  });

  it('accepts the account\'s number, its Messaging Service (any case) and its WhatsApp sender, and the opt-out blocks that sender', async () => {
    for (const [recipient, sender] of [
      ['+14155550612', TEST_SENDER],
      ['+14155550613', SANDBOX_MESSAGING_SERVICE_SID.toUpperCase()],
      ['+14155550614', `WhatsApp:${TEST_SENDER}`],
    ] as const) {
      const added = await server.callTool('add_opt_out', { recipient, sender });
      expect(added.isError, JSON.stringify(added.json)).toBe(false);
      expect(added.json).toMatchObject({ recipient, opted_out: true, changed: true });
    }
    const reached = await reachedSandbox(server, '+14155550612', async () => {
      const refused = await server.callTool('send_sms', { to: '+14155550612', from: TEST_SENDER, body: 'blocked' });
      expect(refused.isError).toBe(true);
      expect(refused.json).toMatchObject({ twilio_code: 21610 });
    });
    expect(reached).toBe(0);
  });

  it('leaving the sender out is always accepted (every sender)', async () => {
    const added = await server.callTool('add_opt_out', { recipient: '+14155550615' });
    expect(added.json).toMatchObject({ sender: 'all senders', opted_out: true });
  });
});
