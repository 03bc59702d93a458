/**
 * Buying a number asks the user first when the client can ask (elicitation): the question
 * names the monthly price, a "no" buys nothing, a "yes" carrying this request's state buys
 * exactly one. Counted in the sandbox's own number list. In-process behind the real HTTP
 * transport (the 2026-07-28 revision, manual input fulfilment), as the first-contact test.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHttpApp, type HttpApp } from '../helpers/http-app.js';

let served: HttpApp;
let client: HttpApp['client'];

beforeAll(async () => {
  served = await startHttpApp({ name: 'buy', toolsets: 'numbers', env: { TWILIO_MCP_ALLOW_NUMBER_PURCHASE: 'true' } });
  client = served.client;
});

afterAll(async () => {
  await served?.close();
});

async function ownedNumbers(): Promise<string[]> {
  const page = await served.sandboxGet<{ incoming_phone_numbers: Array<{ phone_number: string }> }>('/IncomingPhoneNumbers.json');
  return page.incoming_phone_numbers.map((n) => n.phone_number);
}

type Round = { resultType?: string; requestState?: string; inputRequests?: Record<string, { params?: { message?: string } }>; isError?: boolean; content?: Array<{ text?: string }> };
const buy = (args: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  client.callTool({ name: 'buy_phone_number', arguments: args, ...extra } as never, { allowInputRequired: true } as never) as Promise<Round>;

it('asks with the price; "no" buys nothing; "yes" for this request buys exactly one', async () => {
  const before = await ownedNumbers();
  const wanted = '+14155550188';
  const asked = await buy({ phone_number: wanted });
  expect(asked.resultType).toBe('input_required');
  const question = JSON.stringify(asked.inputRequests);
  expect(question).toMatch(/Buy \+14155550188\? It costs about \$1\.15 a month until released/);
  expect(await ownedNumbers()).toEqual(before);

  const declined = await buy({ phone_number: wanted }, { inputResponses: { confirm_first_contact: { action: 'decline' } }, requestState: asked.requestState });
  expect(declined.isError).toBe(true);
  expect(declined.content?.[0]?.text).toMatch(/did not confirm; nothing was done/);
  expect(await ownedNumbers()).toEqual(before);

  const again = await buy({ phone_number: wanted });
  const yes = await buy({ phone_number: wanted }, { inputResponses: { confirm_first_contact: { action: 'accept', content: { confirm: true } } }, requestState: again.requestState });
  expect(yes.isError, yes.content?.[0]?.text).toBeFalsy();
  const after = await ownedNumbers();
  expect(after).toContain(wanted);
  expect(after).toHaveLength(before.length + 1);
});
