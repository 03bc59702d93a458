/**
 * Opt-outs through the real server: recorded by an operator (add_opt_out) or by the
 * person (STOP through the sandbox's signed inbound webhook), every later send to them
 * is refused and never reaches the sandbox. START brings them back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reachedSandbox, startInProcess, type InProcessServer } from '../helpers/in-process.js';

let server: InProcessServer;
beforeAll(async () => {
  server = await startInProcess();
});
afterAll(() => server?.close());

const TEMPLATE = `HX${'e'.repeat(32)}`;

/** Refused as Twilio would (21610), saying who opted out, that nothing was sent, and how consent comes back. */
async function expectOptOutRefusal(tool: 'send_sms' | 'send_whatsapp', args: Record<string, unknown>): Promise<string> {
  const to = String(args.to);
  let message = '';
  const reached = await reachedSandbox(server, to, async () => {
    const result = await server.callTool(tool, args);
    expect(result.isError).toBe(true);
    expect(result.json).toMatchObject({ twilio_code: 21610, next_step: expect.stringMatching(/START/) });
    message = String(result.json.error);
    expect(message).toContain(to);
    expect(message).toMatch(/opted out/);
    expect(message).toMatch(/nothing was sent/);
  });
  expect(reached).toBe(0);
  return message;
}

async function simulateInbound(from: string, body: string) {
  const result = await server.callTool('simulate_inbound_message', { from, body });
  expect(result.isError).toBe(false);
  expect(result.json.stored).toBe(true);
}

describe('opt-outs', () => {
  it('add_opt_out, then send_sms and send_whatsapp are refused', async () => {
    const to = '+14155550600';
    const added = await server.callTool('add_opt_out', { recipient: to, reason: 'asked by email' });
    expect(added.json).toMatchObject({ opted_out: true });
    // No keyword was replied: the refusal says so by not inventing one.
    expect(await expectOptOutRefusal('send_sms', { to, body: 'after opt-out' })).toMatch(new RegExp(`^\\${to} has opted out \\(recorded by an operator\\) of messages from every sender; opt-outs cover the whole account`));
    await expectOptOutRefusal('send_whatsapp', { to: `whatsapp:${to}`, content_sid: TEMPLATE });
  });

  it('an opt-out from one sender number blocks that number by SMS and by WhatsApp, and the refusal names it', async () => {
    const to = '+14155550610';
    const sender = '+15005550006';
    expect((await server.callTool('add_opt_out', { recipient: to, sender })).json).toMatchObject({ opted_out: true });
    const refusal = await expectOptOutRefusal('send_sms', { to, body: 'from that number' });
    expect(refusal).toContain(sender);
    expect(refusal).not.toMatch(/every sender/);
    // The WhatsApp sender is whatsapp:+15005550006: the same number, so the same opt-out.
    await expectOptOutRefusal('send_whatsapp', { to: `whatsapp:${to}`, content_sid: TEMPLATE });
  });

  it('add_opt_out through a messaging service send too (the opt-out covers every sender)', async () => {
    const to = '+14155550601';
    await server.callTool('add_opt_out', { recipient: to });
    const status = await server.callTool('get_server_status', {});
    const service = status.json.messaging_service_sid ?? `MG5a4db0c0000000000000000000000000`;
    await expectOptOutRefusal('send_sms', { to, body: 'via service', messaging_service_sid: service });
  });

  it('STOP sent to the number, then a send is refused; START, then it is sent again', async () => {
    const person = '+14155550602';
    expect(await reachedSandbox(server, person, () => server.callTool('send_sms', { to: person, body: 'before STOP' }))).toBe(1);
    await simulateInbound(person, 'STOP');
    expect(await expectOptOutRefusal('send_sms', { to: person, body: 'after STOP' })).toMatch(/replied STOP/);
    await simulateInbound(person, 'START');
    expect(await reachedSandbox(server, person, () => server.callTool('send_sms', { to: person, body: 'after START' }))).toBe(1);
  });

  it('STOP on WhatsApp refuses WhatsApp sends', async () => {
    const person = 'whatsapp:+14155550603';
    // Any case, surrounding spaces ignored: Twilio's keyword rule.
    await simulateInbound(person, '  stop \n');
    await expectOptOutRefusal('send_whatsapp', { to: person, content_sid: TEMPLATE });
  });

  it('a STOP to the number also blocks sends through the messaging service (account-wide scope, issue 7 §3)', async () => {
    const person = '+14155550604';
    await simulateInbound(person, 'STOP');
    await expectOptOutRefusal('send_sms', { to: person, body: 'via service', messaging_service_sid: 'MG5a4db0c0000000000000000000000000' });
  });

  it('after STOP, neither HELP nor an ordinary reply opts the person back in', async () => {
    const person = '+14155550607';
    await simulateInbound(person, 'STOP');
    await simulateInbound(person, 'HELP');
    await simulateInbound(person, 'thanks, bye');
    await expectOptOutRefusal('send_sms', { to: person, body: 'still opted out?' });
  });

  it('a message that is not a keyword opts nobody out', async () => {
    const person = '+14155550606';
    await simulateInbound(person, 'please stop by tomorrow');
    expect(await reachedSandbox(server, person, () => server.callTool('send_sms', { to: person, body: 'see you' }))).toBe(1);
  });
});
