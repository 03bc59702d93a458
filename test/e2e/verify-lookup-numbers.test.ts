/**
 * Verify, Lookup and phone numbers end to end through the server binary over stdio, on the
 * embedded sandbox: the code is read from the sandbox phone (read_sandbox_device), never
 * from the verification's result.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callTool, connectStdio, type Connected } from '../helpers/server-process.js';

let server: Connected;
beforeAll(async () => {
  server = await connectStdio({ args: ['--toolsets', 'verify,lookup,numbers,inbox'] });
});
afterAll(async () => {
  await server?.close();
});

describe('verify, lookup and numbers over stdio', () => {
  it('verifies a number with the code the phone received', async () => {
    const to = '+14155550931';
    const started = await callTool(server.client, 'start_verification', { to });
    expect(started.isError, JSON.stringify(started.json)).toBe(false);
    const device = await callTool(server.client, 'read_sandbox_device', { to });
    const code = /(\d{4,10})/.exec(device.json.received[0].body)![1]!;
    expect(JSON.stringify(started.json)).not.toContain(code);
    const checked = await callTool(server.client, 'check_verification', { to, code });
    expect(checked.json).toMatchObject({ approved: true, status: 'approved' });
  });

  it('looks a number up and lists the account numbers', async () => {
    const looked = await callTool(server.client, 'lookup_phone_number', { phone_number: '+14155550123', fields: ['sms_pumping_risk'] });
    expect(looked.json).toMatchObject({ valid: true, country_code: 'US', estimated_cost_usd: 0.025 });
    expect(looked.json.sms_pumping_risk).toBeDefined();
    const owned = await callTool(server.client, 'list_phone_numbers', {});
    expect(owned.json.phone_numbers.map((n: { phone_number: string }) => n.phone_number)).toContain('+15005550006');
    const services = await callTool(server.client, 'list_messaging_services', {});
    expect(services.json.messaging_services[0].senders).toContain('+15005550006');
  });
});
