/**
 * Verify, Lookup and phone numbers through the real server in this process, on the
 * embedded sandbox. The code of a verification is read only from the sandbox's device log
 * (what the phone received), never from a tool result; refusals are counted at the device.
 */
import { describe, expect, it } from 'vitest';
import { appPerTest, quietWindowAround, type InProcessServer } from '../helpers/in-process.js';

const start = appPerTest();
const ALL = { toolsets: 'all' };

async function deviceEntries(server: InProcessServer, address: string) {
  return (await server.sandbox()).readDevice(address, 50);
}

async function codeFor(server: InProcessServer, address: string): Promise<string> {
  const [latest] = await deviceEntries(server, address);
  const code = /(\d{4,10})/.exec(latest?.body ?? '')?.[1];
  if (!code) throw new Error(`no code on ${address}: ${JSON.stringify(latest)}`);
  return code;
}

describe('verification', () => {
  it('sends a code the agent never sees; wrong code is pending with attempts left, the right one approves, and it cannot be checked again', async () => {
    const server = await start({}, ALL);
    const to = '+14155550901';
    const started = await server.callTool('start_verification', { to, channel: 'sms' });
    expect(started.isError, started.text).toBe(false);
    expect(started.json).toMatchObject({ to, channel: 'sms', status: 'pending', verification_sid: expect.stringMatching(/^VE/) });
    expect(started.json.next_step).toMatch(/Ask the person for the code/);
    const code = await codeFor(server, to);
    expect(started.text).not.toContain(code);
    const wrong = String((Number(code) + 1) % 10 ** code.length).padStart(code.length, '0');
    const miss = await server.callTool('check_verification', { to, code: wrong });
    expect(miss.json).toMatchObject({ approved: false, status: 'pending', attempts_left: 4 });
    const hit = await server.callTool('check_verification', { to, code });
    expect(hit.json).toMatchObject({ approved: true, status: 'approved' });
    const again = await server.callTool('check_verification', { to, code });
    expect(again.isError).toBe(true);
    expect(again.json.twilio_code).toBe(20404);
    const audit = await server.callTool('get_audit_log', { tool: 'start_verification', limit: 5 });
    expect(audit.json.entries[0]).toMatchObject({ outcome: 'sent' });
  });

  it('is transactional: quiet hours do not hold it', async () => {
    const server = await start({ TWILIO_MCP_QUIET_HOURS: quietWindowAround(new Date(), 'America/Los_Angeles') }, ALL);
    const to = '+14155550902';
    expect((await server.callTool('send_sms', { to, body: 'hello' })).json.rule).toBe('quiet_hours');
    expect((await server.callTool('start_verification', { to, channel: 'sms' })).isError).toBe(false);
    expect(await deviceEntries(server, to)).toHaveLength(1);
  });

  it('opt-outs and destination countries still apply: nothing reaches the phone', async () => {
    const server = await start({}, ALL);
    const optedOut = '+14155550903';
    await server.callTool('add_opt_out', { recipient: optedOut, channel: 'sms' });
    const refused = await server.callTool('start_verification', { to: optedOut, channel: 'sms' });
    expect(refused.json.rule).toBe('opt_out');
    expect(await deviceEntries(server, optedOut)).toHaveLength(0);
    // A voice code is a call: an SMS opt-out does not block it.
    expect((await server.callTool('start_verification', { to: optedOut, channel: 'call' })).isError).toBe(false);
    expect((await deviceEntries(server, optedOut)).map((e) => e.kind)).toEqual(['call']);
    const abroad = '+442071838750';
    expect((await server.callTool('start_verification', { to: abroad, channel: 'sms' })).json.rule).toBe('allowed_countries');
    expect(await deviceEntries(server, abroad)).toHaveLength(0);
  });

  it('an email code lands in the sandbox mailbox; read_sandbox_device shows it', async () => {
    const server = await start({}, ALL);
    const started = await server.callTool('start_verification', { to: 'Ada@Example.com', channel: 'email' });
    expect(started.isError, started.text).toBe(false);
    const device = await server.callTool('read_sandbox_device', { to: 'ada@example.com' });
    expect(device.json.received).toHaveLength(1);
    expect(device.json.received[0].kind).toBe('email');
    const code = /(\d{4,10})/.exec(device.json.received[0].body)![1]!;
    expect((await server.callTool('check_verification', { to: 'ada@example.com', code })).json.approved).toBe(true);
  });
});

describe('lookup', () => {
  it('validates for free; packages are billed and priced; national numbers need country_code', async () => {
    const server = await start({}, ALL);
    const basic = await server.callTool('lookup_phone_number', { phone_number: '+14155550123' });
    expect(basic.json).toMatchObject({ valid: true, country_code: 'US', estimated_cost_usd: 0, fields_asked: [] });
    const line = await server.callTool('lookup_phone_number', { phone_number: '+14155550123', fields: ['line_type_intelligence', 'caller_name'] });
    expect(line.json.line_type_intelligence).toMatchObject({ type: expect.any(String) });
    expect(line.json.caller_name).toBeDefined();
    expect(line.json.estimated_cost_usd).toBeCloseTo(0.018, 5);
    expect(line.json.note).toMatch(/untrusted/);
    const national = await server.callTool('lookup_phone_number', { phone_number: '020 7183 8750', country_code: 'GB' });
    expect(national.json).toMatchObject({ valid: true, phone_number: '+442071838750', country_code: 'GB' });
    const bare = await server.callTool('lookup_phone_number', { phone_number: '020 7183 8750' });
    expect(bare.json.error).toMatch(/no country_code/);
  });
});

describe('phone numbers', () => {
  it('lists the number with its Messaging Service; finds numbers for sale; renames one', async () => {
    const server = await start({}, ALL);
    const owned = await server.callTool('list_phone_numbers', {});
    const mine = owned.json.phone_numbers.find((n: { phone_number: string }) => n.phone_number === '+15005550006');
    expect(mine.messaging_services).toEqual([expect.stringMatching(/^MG/)]);
    const found = await server.callTool('search_available_numbers', { country: 'US', area_code: 415, limit: 5 });
    expect(found.json.available.length).toBeGreaterThan(0);
    for (const n of found.json.available) expect(n.phone_number).toMatch(/^\+1415/);
    expect(found.json.monthly_price_usd).toBe(1.15);
    const renamed = await server.callTool('update_phone_number', { sid: mine.sid, friendly_name: 'Front desk' });
    expect(renamed.json.friendly_name).toBe('Front desk');
    expect((await server.callTool('list_phone_numbers', {})).json.phone_numbers.find((n: { sid: string }) => n.sid === mine.sid).friendly_name).toBe('Front desk');
  });

  it('buying and releasing are not listed unless the operator enables them', async () => {
    const off = await start({}, ALL);
    const names = (await off.client.listTools()).tools.map((t) => t.name);
    expect(names).not.toContain('buy_phone_number');
    expect(names).not.toContain('release_phone_number');
    const status = await off.callTool('get_server_status', {});
    expect(JSON.stringify(status.json)).toMatch(/TWILIO_MCP_ALLOW_NUMBER_PURCHASE/);
  });

  it('with purchases enabled: a magic unavailable number is refused and adds nothing; a bought one can be released', async () => {
    const server = await start({ TWILIO_MCP_ALLOW_NUMBER_PURCHASE: 'true' }, ALL);
    const count = async () => (await server.callTool('list_phone_numbers', {})).json.phone_numbers.length;
    const before = await count();
    const refused = await server.callTool('buy_phone_number', { phone_number: '+15005550000' });
    expect(refused.json.twilio_code).toBe(21422);
    expect(await count()).toBe(before);
    expect((await server.callTool('buy_phone_number', { area_code: 533 })).json.twilio_code).toBe(21452);
    expect(await count()).toBe(before);
    const forSale = await server.callTool('search_available_numbers', { country: 'US', area_code: 415, limit: 1 });
    const bought = await server.callTool('buy_phone_number', { phone_number: forSale.json.available[0].phone_number });
    expect(bought.isError, bought.text).toBe(false);
    expect(bought.json.phone_number).toBe(forSale.json.available[0].phone_number);
    expect(bought.json.monthly_price_usd).toBe(1.15);
    expect(await count()).toBe(before + 1);
    const released = await server.callTool('release_phone_number', { sid: bought.json.sid });
    expect(released.json).toMatchObject({ released: true });
    expect(await count()).toBe(before);
    const audit = await server.callTool('get_audit_log', { limit: 10 });
    expect(audit.json.entries.map((e: { tool: string }) => e.tool)).toEqual(expect.arrayContaining(['buy_phone_number', 'release_phone_number']));
  });
});
