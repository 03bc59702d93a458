/**
 * Each policy rule refuses with its own message and lets the allowed case through.
 * The clock is injected; the ledger is the SQLite store, so caps survive a restart.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NeedsConfirmation, PolicyEngine } from '../../src/policy/policy-engine.js';
import { loadPolicy, PolicyConfigError, type Policy } from '../../src/policy/policy-schema.js';
import type { OutgoingMessage } from '../../src/policy/send-guard.js';
import { openStoreInDir } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { failureOf } from '../helpers/tool-failure.js';

const NOON_NY = new Date('2026-11-24T17:00:00Z'); // 12:00 in New York, 09:00 in Los Angeles
const NIGHT_NY = new Date('2026-11-25T03:30:00Z'); // 22:30 in New York, 19:30 in Los Angeles

const policyWith = (env: Record<string, string> = {}): Policy => loadPolicy({ env });
const message = (to: string, body = 'hello', extra: Partial<OutgoingMessage> = {}): OutgoingMessage => ({
  channel: 'sms', to, from: '+15005550006', messagingServiceSid: undefined, body, segments: 1, ...extra,
});

function setup(env: Record<string, string> = {}, now = NOON_NY, dir = mkdtempSync(join(tmpdir(), 'mcp-twilio-policy-'))) {
  const store: Store = openStoreInDir(dir);
  const engine = new PolicyEngine(policyWith(env), async () => store, '+15005550006', () => now);
  return { store, engine, dir };
}


describe('number lists', () => {
  it('deny wins over allow; prefixes match', async () => {
    const { engine } = setup({ TWILIO_MCP_ALLOW_NUMBERS: '+1415', TWILIO_MCP_DENY_NUMBERS: '+14155550666' });
    await expect(engine.checkMessage(message('+14155550100'))).resolves.toMatchObject({ dryRun: false });
    expect((await failureOf(engine.checkMessage(message('+14155550666')))).message).toMatch(/deny list entry \+14155550666/);
    expect((await failureOf(engine.checkMessage(message('+12125550100')))).message).toMatch(/only numbers on the allow list/);
  });
});

describe('destination countries', () => {
  it("allows only the sender's country by default (SMS-pumping defence)", async () => {
    const { engine } = setup();
    await expect(engine.checkMessage(message('+14155550100'))).resolves.toBeDefined();
    const refused = await failureOf(engine.checkMessage(message('+447700900123')));
    expect(refused.message).toMatch(/destination country GB \(United Kingdom, \+44\) is not allowed \(allowed: US \(United States, \+1\)\)/);
    expect(refused.nextStep).toMatch(/SMS-pumping/);
  });

  it('an explicit list widens it', async () => {
    const { engine } = setup({ TWILIO_MCP_ALLOWED_COUNTRIES: 'US,GB' });
    await expect(engine.checkMessage(message('+447700900123'))).resolves.toBeDefined();
  });
});

describe('quiet hours (recipient local time)', () => {
  it('holds a message at 22:30 in New York and says when it may go', async () => {
    const { engine } = setup({}, NIGHT_NY);
    const refused = await failureOf(engine.checkMessage(message('+12125550100')));
    expect(refused.message).toMatch(/it is 22:30 for the recipient \(America\/New_York\)/);
    expect(refused.nextStep).toMatch(/transactional: true/);
    expect(refused.extra?.resumes_at).toBe('2026-11-25T13:00:00.000Z');
  });

  it('lets the same moment through for Los Angeles (19:30) and for transactional messages', async () => {
    const { engine } = setup({}, NIGHT_NY);
    await expect(engine.checkMessage(message('+14155550100'))).resolves.toBeDefined();
    await expect(engine.checkMessage(message('+12125550100', 'Your code is 123456', { transactional: true }))).resolves.toBeDefined();
  });

  it('can be switched off', async () => {
    const { engine } = setup({ TWILIO_MCP_QUIET_HOURS: 'off' }, NIGHT_NY);
    await expect(engine.checkMessage(message('+12125550100'))).resolves.toBeDefined();
  });
});

describe('duplicates', () => {
  it('refuses the same text to the same number within the window, with the earlier SID', async () => {
    const { engine } = setup();
    const m = message('+14155550101', 'Your order shipped');
    const decision = await engine.checkMessage(m);
    await engine.recordSent(m, 'SM0001', decision);
    const refused = await failureOf(engine.checkMessage(m));
    expect(refused.extra?.earlier_sid).toBe('SM0001');
    await expect(engine.checkMessage({ ...m, allowDuplicate: true })).resolves.toBeDefined();
    await expect(engine.checkMessage(message('+14155550101', 'Another text'))).resolves.toBeDefined();
  });

  it('lets it through after the window', async () => {
    let now = NOON_NY;
    const store = openStoreInDir(mkdtempSync(join(tmpdir(), 'mcp-twilio-policy-')));
    const engine = new PolicyEngine(policyWith(), async () => store, '+15005550006', () => now);
    const m = message('+14155550102', 'ping');
    await engine.recordSent(m, 'SM0002', await engine.checkMessage(m));
    now = new Date(NOON_NY.getTime() + 11 * 60_000);
    await expect(engine.checkMessage(m)).resolves.toBeDefined();
  });
});

describe('caps', () => {
  it('refuses at the hourly cap, says when it resets, and holds across a restart', async () => {
    const first = setup({ TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '3' });
    for (let i = 0; i < 3; i++) {
      const m = message('+14155550103', `n${i}`);
      await first.engine.recordSent(m, `SM${i}`, await first.engine.checkMessage(m));
    }
    await first.store.close();
    const restarted = setup({ TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '3' }, NOON_NY, first.dir);
    const refused = await failureOf(restarted.engine.checkMessage(message('+14155550103', 'n3')));
    expect(refused.message).toBe('Hourly message cap reached (3/3).');
    expect(refused.extra).toMatchObject({ cap: 'messages_per_hour', resets_at: '2026-11-24T18:00:00.000Z' });
  });

  it('refuses when the estimated spend would pass the daily cap', async () => {
    const { engine } = setup({ TWILIO_MCP_MAX_SPEND_PER_DAY_USD: '0.02' });
    const m = message('+14155550104', 'x', { segments: 3 });
    const refused = await failureOf(engine.checkMessage(m));
    expect(refused.message).toMatch(/Daily spend cap/);
    expect(refused.extra?.resets_at).toBe('2026-11-25T00:00:00.000Z');
  });
});

describe('first contact', () => {
  it('asks for confirmation (confirm), refuses (refuse), and knows numbers contacted before', async () => {
    const confirm = setup({ TWILIO_MCP_FIRST_CONTACT: 'confirm' });
    await expect(confirm.engine.checkMessage(message('+14155550105'))).rejects.toBeInstanceOf(NeedsConfirmation);
    const m = message('+14155550105', 'hi', { firstContactConfirmed: true });
    await confirm.engine.recordSent(m, 'SM9', await confirm.engine.checkMessage(m));
    await expect(confirm.engine.checkMessage(message('+14155550105', 'again'))).resolves.toBeDefined();
    const refuse = setup({ TWILIO_MCP_FIRST_CONTACT: 'refuse' });
    expect((await failureOf(refuse.engine.checkMessage(message('+14155550106')))).message).toMatch(/never messaged/);
  });
});

describe('dry run and configuration', () => {
  it('reports dry-run in the decision and the description', async () => {
    const { engine } = setup({ TWILIO_MCP_DRY_RUN: 'true' });
    await expect(engine.checkMessage(message('+14155550107'))).resolves.toMatchObject({ dryRun: true });
    expect(await engine.describe()).toMatchObject({ dry_run: true, destination_countries: "sender's country only (US); through a Messaging Service, its numbers' countries" });
  });

  it('names the key, the problem and the fix for a bad policy file; env overrides the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-twilio-policy-file-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ caps: { messages_per_day: 'many' }, quiet_hours: { start: '9pm', end: '08:00' }, colour: 'red' }));
    try {
      loadPolicy({ file: bad, env: {} });
      throw new Error('expected PolicyConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(PolicyConfigError);
      const text = (error as PolicyConfigError).problems.join('\n');
      expect(text).toMatch(/caps\.messages_per_day/);
      expect(text).toMatch(/quiet_hours\.start: the string "9pm" must be HH:MM/);
      expect(text).toMatch(/Known keys: allowed_countries/);
    }
    const notJson = join(dir, 'broken.json');
    writeFileSync(notJson, '{ nope');
    expect(() => loadPolicy({ file: notJson, env: {} })).toThrow(/not valid JSON/);
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ caps: { messages_per_day: 10 }, dry_run: false }));
    const merged = loadPolicy({ file: good, env: { TWILIO_MCP_DRY_RUN: 'true', TWILIO_MCP_MAX_MESSAGES_PER_HOUR: '5' } });
    expect(merged).toMatchObject({ dry_run: true, caps: { messages_per_day: 10, messages_per_hour: 5 } });
    expect(() => loadPolicy({ env: { TWILIO_MCP_QUIET_HOURS: 'late' } })).toThrow(/TWILIO_MCP_QUIET_HOURS must be "HH:MM-HH:MM"/);
  });
});
