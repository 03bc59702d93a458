/**
 * Every guard a call passes, through the real server in this process, each refusal
 * counted at the sandbox (its own REST API): a refused call places no call.
 * Calls go through the same pipeline as messages: do-not-call → policy → reserve → Twilio → settle.
 */
import { describe, expect, it } from 'vitest';
import { appPerTest, callsReachingSandbox, quietWindowAround, reachedSandbox } from '../helpers/in-process.js';

const start = appPerTest();
const VOICE = { toolsets: 'voice,inbox,messaging' };
const say = (text = 'Your table is ready.') => ({ say: text });

describe('calls and the send pipeline', () => {
  it('an allowed call is placed once, audited with its outcome, and says what will happen', async () => {
    const server = await start({}, VOICE);
    const to = '+14155550601';
    const reached = await callsReachingSandbox(server, to, async () => {
      const result = await server.callTool('make_call', { to, ...say() });
      expect(result.isError, result.text).toBe(false);
      expect(result.json).toMatchObject({ call_sid: expect.stringMatching(/^CA[0-9a-f]{32}$/), to, direction: 'outbound-api' });
      expect(result.json.what_happens).toMatch(/^Calls \+14155550601 from \+15005550006, ringing up to 30 s; when answered it says "Your table is ready\." \(4 words\), then hangs up\. Billed per minute/);
    });
    expect(reached).toBe(1);
    const audit = await server.callTool('get_audit_log', { tool: 'make_call', limit: 5 });
    expect(audit.json.entries).toHaveLength(1);
    expect(audit.json.entries[0]).toMatchObject({ tool: 'make_call', outcome: 'sent', arguments: { to } });
  });

  it('a number on the do-not-call list (channel voice) gets no call, and may still be texted', async () => {
    const server = await start({}, VOICE);
    const to = '+14155550602';
    expect((await server.callTool('add_opt_out', { recipient: to, channel: 'voice' })).json).toMatchObject({ channel: 'voice', changed: true });
    const calls = await callsReachingSandbox(server, to, async () => {
      const result = await server.callTool('make_call', { to, ...say() });
      expect(result.isError).toBe(true);
      expect(result.json).toMatchObject({ rule: 'do_not_call', channel: 'voice' });
      expect(result.json.error).toMatch(/do-not-call list/);
    });
    expect(calls).toBe(0);
    // A voice opt-out is not a messaging opt-out.
    const texts = await reachedSandbox(server, to, async () => {
      expect((await server.callTool('send_sms', { to, body: 'We tried to reach you.' })).isError).toBe(false);
    });
    expect(texts).toBe(1);
  });

  it('an SMS STOP does not block calls by default; with calls_honor_sms_opt_outs it does', async () => {
    for (const honor of [false, true]) {
      const server = await start(honor ? { TWILIO_MCP_CALLS_HONOR_SMS_OPT_OUTS: 'true' } : {}, VOICE);
      const to = honor ? '+14155550604' : '+14155550603';
      expect((await server.callTool('simulate_inbound_message', { from: to, body: 'STOP' })).isError).toBe(false);
      const texts = await reachedSandbox(server, to, async () => {
        expect((await server.callTool('send_sms', { to, body: 'still there?' })).json.rule).toBe('opt_out');
      });
      expect(texts).toBe(0);
      const calls = await callsReachingSandbox(server, to, async () => {
        const result = await server.callTool('make_call', { to, ...say() });
        expect(result.isError).toBe(honor);
        if (honor) expect(result.json).toMatchObject({ rule: 'do_not_call', channel: 'sms' });
      });
      expect(calls).toBe(honor ? 0 : 1);
      await server.close();
    }
  });

  it('a manual opt-out without a channel blocks calls and messages alike', async () => {
    const server = await start({}, VOICE);
    const to = '+14155550605';
    expect((await server.callTool('add_opt_out', { recipient: to })).json.channel).toBe('all');
    expect(await callsReachingSandbox(server, to, () => server.callTool('make_call', { to, ...say() }))).toBe(0);
    expect(await reachedSandbox(server, to, () => server.callTool('send_sms', { to, body: 'hi' }))).toBe(0);
    // Removing only the voice part leaves the messaging opt-out in force.
    await server.callTool('remove_opt_out', { recipient: to, channel: 'voice', reason: 'Agreed to calls on the phone, 2026-12-01 10:00, ticket 42' });
    expect(await callsReachingSandbox(server, to, () => server.callTool('make_call', { to, ...say() }))).toBe(1);
    expect(await reachedSandbox(server, to, () => server.callTool('send_sms', { to, body: 'hi' }))).toBe(0);
  });

  it('the daily call cap holds under concurrency: 6 calls at once against a cap of 2 place exactly 2', async () => {
    const server = await start({ TWILIO_MCP_MAX_CALLS_PER_DAY: '2' }, VOICE);
    const numbers = ['+14155550610', '+14155550611', '+14155550612', '+14155550613', '+14155550614', '+14155550615'];
    const before = await Promise.all(numbers.map((n) => server.sandboxCallsTo(n)));
    const results = await Promise.all(numbers.map((to) => server.callTool('make_call', { to, ...say() })));
    const after = await Promise.all(numbers.map((n) => server.sandboxCallsTo(n)));
    expect(results.filter((r) => !r.isError)).toHaveLength(2);
    expect(results.filter((r) => r.isError).every((r) => r.json.rule === 'caps' && r.json.cap === 'calls_per_day')).toBe(true);
    expect(after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('the same call to the same number within the window is refused; allow_duplicate places it', async () => {
    const server = await start({}, VOICE);
    const to = '+14155550620';
    expect((await server.callTool('make_call', { to, ...say('Reminder: dentist at 3.') })).isError).toBe(false);
    const refused = await callsReachingSandbox(server, to, async () => {
      const again = await server.callTool('make_call', { to, ...say('Reminder: dentist at 3.') });
      expect(again.json).toMatchObject({ rule: 'duplicate', earlier_state: 'sent' });
      expect(again.json.next_step).toMatch(/get_call/);
    });
    expect(refused).toBe(0);
    expect(await callsReachingSandbox(server, to, () => server.callTool('make_call', { to, ...say('Reminder: dentist at 3.'), allow_duplicate: true }))).toBe(1);
  });

  it('quiet hours hold calls (recipient local time); transactional places a time-critical one', async () => {
    const server = await start({ TWILIO_MCP_QUIET_HOURS: quietWindowAround(new Date(), 'America/Los_Angeles') }, VOICE);
    const to = '+14155550630';
    const refused = await callsReachingSandbox(server, to, async () => {
      const result = await server.callTool('make_call', { to, ...say() });
      expect(result.json).toMatchObject({ rule: 'quiet_hours', recipient_time_zone: 'America/Los_Angeles' });
      expect(result.json.error).toMatch(/no calls go out then/);
    });
    expect(refused).toBe(0);
    expect(await callsReachingSandbox(server, to, () => server.callTool('make_call', { to, ...say('Your code is 1 2 3 4.'), transactional: true }))).toBe(1);
  });

  it('deny list, destination country and first contact refuse before anything is reserved', async () => {
    const server = await start({ TWILIO_MCP_DENY_NUMBERS: '+1415555064', TWILIO_MCP_FIRST_CONTACT: 'refuse' }, VOICE);
    const denied = '+14155550640';
    expect(await callsReachingSandbox(server, denied, async () => expect((await server.callTool('make_call', { to: denied, ...say() })).json.rule).toBe('deny_numbers'))).toBe(0);
    const abroad = '+442071838750';
    expect(await callsReachingSandbox(server, abroad, async () => expect((await server.callTool('make_call', { to: abroad, ...say() })).json.rule).toBe('allowed_countries'))).toBe(0);
    const stranger = '+14155550650';
    expect(await callsReachingSandbox(server, stranger, async () => expect((await server.callTool('make_call', { to: stranger, ...say() })).json.rule).toBe('first_contact'))).toBe(0);
    const audit = await server.callTool('get_audit_log', { tool: 'make_call', limit: 10 });
    // Refusals are audited (as failed tool calls), none as a send.
    expect(audit.json.entries.every((e: { outcome?: string | null }) => !e.outcome)).toBe(true);
  });

  it('dry run checks everything and places nothing', async () => {
    const server = await start({ TWILIO_MCP_DRY_RUN: 'true' }, VOICE);
    const to = '+14155550660';
    const reached = await callsReachingSandbox(server, to, async () => {
      const result = await server.callTool('make_call', { to, ...say() });
      expect(result.json).toMatchObject({ dry_run: true, call_sid: null, status: 'dry_run' });
      expect(result.json.what_happens).toMatch(/^Dry run, nothing placed: Calls/);
    });
    expect(reached).toBe(0);
  });

  it('read-only mode lists no tool that places or changes a call', async () => {
    const server = await start({}, { ...VOICE, readOnly: true });
    const names = (await server.client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['get_call', 'list_calls', 'list_recordings']));
    for (const name of ['make_call', 'update_call', 'delete_recording', 'create_ivr_flow', 'update_conference']) expect(names).not.toContain(name);
  });

  it('invalid inline TwiML is refused with line, column and a suggestion, and no call is placed', async () => {
    const server = await start({}, VOICE);
    const to = '+14155550670';
    const reached = await callsReachingSandbox(server, to, async () => {
      const result = await server.callTool('make_call', { to, twiml: '<Response>\n  <Sya>Hello</Sya>\n</Response>' });
      expect(result.isError).toBe(true);
      expect(result.json.rule).toBe('twiml');
      expect(result.json.error).toMatch(/line 2, column \d+: .*Sya/);
      expect(result.json.error).toMatch(/did you mean <Say>\?/);
    });
    expect(reached).toBe(0);
  });

  it('exactly one of say, twiml, url or ivr_flow: none or two is refused before anything else', async () => {
    const server = await start({}, VOICE);
    const to = '+14155550680';
    const reached = await callsReachingSandbox(server, to, async () => {
      expect((await server.callTool('make_call', { to })).json.error).toMatch(/Nothing for the call to play/);
      expect((await server.callTool('make_call', { to, say: 'hi', url: 'https://example.com/t.xml' })).json.error).toMatch(/exactly one of say, twiml, url or ivr_flow \(got say, url\)/);
      expect((await server.callTool('make_call', { to, ivr_flow: 'missing' })).json.error).toMatch(/no IVR flow named "missing"/);
    });
    expect(reached).toBe(0);
  });
});
