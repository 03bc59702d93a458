/**
 * Tool input schemas, validated the way the MCP SDK validates them (`~standard.validate`):
 * every phone-address parameter of every tool is the one normaliser; send_at, re-consent
 * reasons, opt-out senders, WhatsApp media-only and smart_encoding as documented; names
 * Claude accepts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configurePhoneDefaults } from '../../src/domain/phone-address.js';
import type { ToolDefinition } from '../../src/tools/define-tool.js';
import { allTools } from '../../src/tools/index.js';

beforeAll(() => configurePhoneDefaults({ defaultSender: '+15005550006' }));
afterAll(() => configurePhoneDefaults({}));

const tool = (name: string): ToolDefinition => {
  const found = allTools.find((t) => t.name === name);
  if (!found) throw new Error(`no tool ${name}`);
  return found;
};

async function call(name: string, args: Record<string, unknown>) {
  const result = await tool(name).input['~standard'].validate(args);
  return result.issues ? { ok: false as const, messages: result.issues.map((i) => i.message).join(' | ') } : { ok: true as const, value: result.value as Record<string, unknown> };
}

/** Every parameter that names a phone number, per tool. A new one must be added here (the test below checks). */
const PHONE_PARAMETERS: Record<string, string[]> = {
  send_sms: ['to', 'from'],
  send_whatsapp: ['to', 'from'],
  list_messages: ['to', 'from'],
  list_inbound_messages: ['from', 'to'],
  wait_for_reply: ['from'],
  list_opt_outs: ['recipient', 'sender'],
  add_opt_out: ['recipient', 'sender'],
  remove_opt_out: ['recipient', 'sender'],
  configure_webhooks: ['phone_number'],
  simulate_inbound_message: ['from'],
  make_call: ['to', 'from'],
  list_calls: ['to', 'from'],
  set_inbound_call_flow: ['phone_number'],
  simulate_inbound_call: ['from', 'to'],
  buy_phone_number: ['phone_number'],
  start_voice_conversation: ['to', 'from'],
  script_caller: ['to'],
  start_campaign: ['from'],
  manage_conversation: ['address', 'proxy_address'],
  start_verification: ['to'],
  check_verification: ['to'],
  cancel_verification: ['to'],
  read_sandbox_device: ['to'],
  get_messaging_insights: ['from'],
};
const PHONE_NAMED = /^(to|from|recipient|sender|phone_number|number|address|proxy_address)$/;

/**
 * Phone-named parameters that are deliberately not the phone-address type, and why: the
 * service normalises them itself (E.164 through the same rules) after deciding what they are.
 */
const NOT_THE_PHONE_TYPE: Record<string, { param: string; why: string }> = {
  lookup_phone_number: { param: 'phone_number', why: 'a national number is allowed with country_code (that is what a lookup is for)' },
};

/** The smallest valid arguments of each tool, apart from the phone parameter under test. */
const BASE_ARGS: Record<string, Record<string, unknown>> = {
  send_sms: { to: '+14155550100', body: 'hi' },
  send_whatsapp: { to: '+14155550100', body: 'hi' },
  wait_for_reply: { from: '+14155550100', timeout_seconds: 1 },
  add_opt_out: { recipient: '+14155550100' },
  remove_opt_out: { recipient: '+14155550100', reason: 'Ada agreed by phone on 2026-11-30' },
  simulate_inbound_message: { from: '+14155550100', body: 'hi' },
  make_call: { to: '+14155550100', say: 'hi' },
  set_inbound_call_flow: { flow: null },
  simulate_inbound_call: { from: '+14155550100' },
  start_voice_conversation: { to: '+14155550100', greeting: 'Hi', purpose: 'test' },
  script_caller: { to: '+14155550100', turns: [{ say: 'hi' }] },
  start_campaign: { name: 'c', template: 'hi', recipients: [{ to: '+14155550100' }] },
  manage_conversation: { action: 'add_participant', conversation: 'CH00000000000000000000000000000000' },
  check_verification: { to: '+14155550100', code: '123456' },
};

describe('one phone-address type in every tool', () => {
  it('the table above lists every phone-named parameter of every tool', () => {
    const found: Record<string, string[]> = {};
    for (const t of allTools) {
      const names = Object.keys(t.input.shape).filter((k) => PHONE_NAMED.test(k) && NOT_THE_PHONE_TYPE[t.name]?.param !== k);
      if (names.length) found[t.name] = names;
    }
    expect(found).toEqual(PHONE_PARAMETERS);
    for (const [name, { param }] of Object.entries(NOT_THE_PHONE_TYPE)) expect(Object.keys(tool(name).input.shape)).toContain(param);
  });

  it('each one canonicalises a full-width, punctuated spelling and refuses a national number with the suggestion', async () => {
    for (const [name, params] of Object.entries(PHONE_PARAMETERS)) {
      for (const param of params) {
        const base = BASE_ARGS[name] ?? {};
        const accepted = await call(name, { ...base, [param]: ' ＋１ (４１５) ５５５-０１４２ ' });
        expect(accepted, `${name}.${param}`).toMatchObject({ ok: true, value: { [param]: '+14155550142' } });
        const refused = await call(name, { ...base, [param]: '(415) 555-0142' });
        expect(refused.ok, `${name}.${param}`).toBe(false);
        expect(refused.ok || refused.messages, `${name}.${param}`).toContain(`Did you mean +14155550142? Resend with "${param}": "+14155550142".`);
      }
    }
  });

  it('accepts whatsapp: in any case where a WhatsApp address can go, and refuses it for SMS and number configuration', async () => {
    expect(await call('send_whatsapp', { to: 'WhatsApp:+1 415 555 0142', body: 'hi' })).toMatchObject({ ok: true, value: { to: 'whatsapp:+14155550142' } });
    expect(await call('wait_for_reply', { from: 'WHATSAPP:+14155550142' })).toMatchObject({ ok: true, value: { from: 'whatsapp:+14155550142' } });
    expect((await call('send_sms', { to: 'whatsapp:+14155550142', body: 'hi' })).ok).toBe(false);
    expect((await call('configure_webhooks', { phone_number: 'whatsapp:+15005550006' })).ok).toBe(false);
  });
});

describe('opt-out tools', () => {
  it('refuse an empty or malformed sender, on every opt-out tool', async () => {
    for (const name of ['add_opt_out', 'remove_opt_out', 'list_opt_outs']) {
      for (const sender of ['', ' ', 'MG123', 'nobody', '*']) {
        const result = await call(name, { ...(BASE_ARGS[name] ?? {}), sender });
        expect(result.ok, `${name} sender=${JSON.stringify(sender)}`).toBe(false);
      }
      expect(await call(name, { ...(BASE_ARGS[name] ?? {}), sender: `MG${'C'.repeat(32)}` })).toMatchObject({ ok: true, value: { sender: `MG${'c'.repeat(32)}` } });
    }
  });

  it('remove_opt_out needs 10 non-space characters of reason, and says what to record', async () => {
    for (const reason of ['          a', 'ok ok ok ok', '\t\t\t\t\t\t\t\t\t\t\tabc', 'short']) {
      const result = await call('remove_opt_out', { recipient: '+14155550100', reason });
      expect(result.ok, JSON.stringify(reason)).toBe(false);
      expect(result.ok || result.messages).toMatch(/who agreed, how and when/);
    }
    expect(await call('remove_opt_out', { recipient: '+14155550100', reason: '  Ada agreed by SMS  ' })).toMatchObject({ ok: true, value: { reason: 'Ada agreed by SMS' } });
  });
});

describe('send_sms and send_whatsapp inputs', () => {
  it('refuses send_at "" and a send_at without a zone, with an example', async () => {
    const empty = await call('send_sms', { to: '+14155550100', body: 'hi', send_at: '' });
    expect(empty.ok || empty.messages).toMatch(/send_at is empty/);
    for (const local of ['2026-12-01T15:30:00', '2026-12-01T15:30', '2026-12-01', 'tomorrow 3pm', '2026-13-01T15:30:00Z']) {
      const result = await call('send_sms', { to: '+14155550100', body: 'hi', send_at: local });
      expect(result.ok, local).toBe(false);
      expect(result.ok || result.messages).toContain('"2026-12-01T15:30:00Z"');
    }
    for (const zoned of ['2026-12-01T15:30:00Z', '2026-12-01T15:30:00+01:00', '2026-12-01T15:30:00.250-05:00']) {
      expect(await call('send_sms', { to: '+14155550100', body: 'hi', send_at: zoned }), zoned).toMatchObject({ ok: true });
    }
  });

  it('takes smart_encoding as a boolean', async () => {
    expect(await call('send_sms', { to: '+14155550100', body: '“hi”', smart_encoding: true })).toMatchObject({ ok: true, value: { smart_encoding: true } });
    expect((await call('send_sms', { to: '+14155550100', body: 'hi', smart_encoding: 'yes' })).ok).toBe(false);
  });

  it('a WhatsApp message may be media without a body', async () => {
    expect(await call('send_whatsapp', { to: '+14155550100', media_url: ['https://example.com/a.jpg'] })).toMatchObject({ ok: true });
  });
});

describe('names', () => {
  it('every tool and parameter name matches ^[a-zA-Z0-9_.-]{1,64}$', () => {
    const ok = /^[a-zA-Z0-9_.-]{1,64}$/;
    for (const t of allTools) {
      expect(t.name).toMatch(ok);
      for (const key of Object.keys(t.input.shape)) expect(key, `${t.name}.${key}`).toMatch(ok);
    }
  });
});
