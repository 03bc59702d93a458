/**
 * One normaliser for every phone input (issue 7 §2): an opt-out or a send written in any
 * common form means the same canonical number, so a consent record always matches the
 * send it must stop. Counted at the sandbox.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reachedSandbox, startInProcess, type InProcessServer } from '../helpers/in-process.js';

let server: InProcessServer;
beforeAll(async () => {
  server = await startInProcess();
});
afterAll(() => server?.close());

async function expectOptOutRefusal(to: string) {
  const reached = await reachedSandbox(server, to, async () => {
    const result = await server.callTool('send_sms', { to, body: 'must not arrive' });
    expect(result.isError).toBe(true);
    expect(result.json.twilio_code).toBe(21610);
  });
  expect(reached).toBe(0);
}

describe('opt-outs written in other forms', () => {
  it('add_opt_out("(415) 555-0605") is refused with the E.164 form to use, and that form then blocks +14155550605', async () => {
    // A national number is ambiguous: refused with the fix, never stored as text no send matches.
    const national = await server.callTool('add_opt_out', { recipient: '(415) 555-0605' });
    expect(national.isError).toBe(true);
    expect(national.text).toContain('Did you mean +14155550605?');
    expect((await server.callTool('list_opt_outs', {})).json.opt_outs.map((o: { recipient: string }) => o.recipient)).not.toContain('(415) 555-0605');
    expect((await server.callTool('add_opt_out', { recipient: '+1 (415) 555-0605' })).isError).toBe(false);
    await expectOptOutRefusal('+14155550605');
  });

  it('add_opt_out(" +1 415-555-0606 ") blocks a send to +14155550606', async () => {
    expect((await server.callTool('add_opt_out', { recipient: ' +1 415-555-0606 ' })).isError).toBe(false);
    await expectOptOutRefusal('+14155550606');
  });

  it('add_opt_out("WhatsApp:+14155550607") blocks WhatsApp sends to that person', async () => {
    expect((await server.callTool('add_opt_out', { recipient: 'WhatsApp:+14155550607' })).isError).toBe(false);
    const to = 'whatsapp:+14155550607';
    const reached = await reachedSandbox(server, to, async () => {
      expect((await server.callTool('send_whatsapp', { to, content_sid: `HX${'1'.repeat(32)}` })).isError).toBe(true);
    });
    expect(reached).toBe(0);
  });
});
