/**
 * With an account (here: a sandbox run as its own process, reached through
 * TWILIO_MCP_API_BASE_URL as a live account would be), cost estimates come from Twilio's
 * Pricing API; the table is the fallback when it cannot be read, and the result says which.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../../src/sandbox/index.js';
import { callTool, connectStdio, type Connected } from '../helpers/server-process.js';

let sandbox: SandboxHandle;
let server: Connected;
beforeAll(async () => {
  sandbox = await startSandbox();
  server = await connectStdio({
    args: ['--toolsets', 'messaging,voice'],
    env: {
      TWILIO_ACCOUNT_SID: sandbox.accountSid,
      TWILIO_AUTH_TOKEN: sandbox.authToken,
      TWILIO_PHONE_NUMBER: sandbox.testSenderNumber,
      TWILIO_MCP_API_BASE_URL: sandbox.baseUrl,
      TWILIO_MCP_QUIET_HOURS: 'off',
      TWILIO_MCP_ALLOWED_COUNTRIES: 'US,CA',
    },
  });
});
afterAll(async () => {
  await server?.close();
  await sandbox?.close();
});

describe('estimates from the Pricing API', () => {
  it('an SMS is estimated at the account price, a call at its per-minute price', async () => {
    const sms = await callTool(server.client, 'send_sms', { to: '+14155550951', body: 'priced' });
    expect(sms.isError, JSON.stringify(sms.json)).toBe(false);
    expect(sms.json).toMatchObject({ cost_source: 'pricing_api', estimated_cost_usd: 0.0079 });
    const call = await callTool(server.client, 'make_call', { to: '+14155550952', say: 'priced' });
    expect(call.json).toMatchObject({ cost_source: 'pricing_api', estimated_minutes: 3, estimated_cost_usd: 0.042 });
  });

  it('falls back to the built-in table when the Pricing API cannot answer', async () => {
    sandbox.injectFault({ path: /\/v1\/Messaging\/Countries\/CA/, kind: 'status', status: 500, times: 5 });
    const sms = await callTool(server.client, 'send_sms', { to: '+16135550953', body: 'fallback' });
    expect(sms.json).toMatchObject({ cost_source: 'price_table', estimated_cost_usd: 0.0083 });
  });
});
