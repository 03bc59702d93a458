/**
 * Every default opt-out keyword through the built server: a signed inbound message from
 * the embedded sandbox (simulate_inbound_message) opts the person out, and the next send
 * to them is refused; every opt-in keyword brings them back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callTool, connectStdio, type Connected } from '../helpers/server-process.js';

const OPT_OUT = ['STOP', 'UNSUBSCRIBE', 'END', 'QUIT', 'STOPALL', 'REVOKE', 'OPTOUT', 'CANCEL'];
const OPT_IN = ['START', 'YES', 'UNSTOP'];

let server: Connected;
beforeAll(async () => {
  server = await connectStdio();
});
afterAll(() => server?.close());

const inbound = async (from: string, body: string) => {
  const result = await callTool(server.client, 'simulate_inbound_message', { from, body });
  expect(result.json).toMatchObject({ stored: true, receiver_status: 200 });
};
const optedOut = async (recipient: string) => ((await callTool(server.client, 'list_opt_outs', { recipient })).json.opt_outs as unknown[]).length > 0;

describe('opt-out keywords', () => {
  OPT_OUT.forEach((keyword, i) => {
    it(`${keyword} opts the person out: the next send is refused (21610)`, async () => {
      const person = `+1415555${String(1100 + i).padStart(4, '0')}`;
      expect(await optedOut(person)).toBe(false);
      await inbound(person, keyword.toLowerCase() === 'stop' ? ' Stop ' : keyword);
      expect(await optedOut(person)).toBe(true);
      const refused = await callTool(server.client, 'send_sms', { to: person, body: `after ${keyword}` });
      expect(refused.isError).toBe(true);
      expect(refused.json.twilio_code).toBe(21610);
    });
  });

  OPT_IN.forEach((keyword, i) => {
    it(`${keyword} after STOP opts the person back in: the next send goes out`, async () => {
      const person = `+1415555${String(1150 + i).padStart(4, '0')}`;
      await inbound(person, 'STOP');
      expect(await optedOut(person)).toBe(true);
      await inbound(person, keyword);
      expect(await optedOut(person)).toBe(false);
      const sent = await callTool(server.client, 'send_sms', { to: person, body: `after ${keyword}` });
      expect(sent.isError).toBe(false);
      expect(sent.json.message_sid).toMatch(/^SM/);
    });
  });
});
