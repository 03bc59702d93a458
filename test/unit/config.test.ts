import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/env.js';

const SID = `AC${'a'.repeat(32)}`;
const TOKEN = 'f'.repeat(32);

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has no credentials when nothing is set (the sandbox is then used)', () => {
    const config = loadConfig({});
    expect(config.credentials).toBeUndefined();
    expect(config.timeoutMs).toBe(30_000);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ TWILIO_ACCOUNT_SID: '', TWILIO_AUTH_TOKEN: ' ' }).credentials).toBeUndefined();
  });

  it('reads account SID + auth token', () => {
    const config = loadConfig({ TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: TOKEN, TWILIO_TIMEOUT: '12' });
    expect(config.credentials).toEqual({ accountSid: SID, username: SID, password: TOKEN });
    expect(config.timeoutMs).toBe(12_000);
  });

  it('reads an API key with its account SID', () => {
    const key = `SK${'b'.repeat(32)}`;
    const config = loadConfig({ TWILIO_ACCOUNT_SID: SID, TWILIO_API_KEY: key, TWILIO_API_SECRET: TOKEN });
    expect(config.credentials).toEqual({ accountSid: SID, username: key, password: TOKEN });
  });

  it('names the variable, the problem and the fix', () => {
    const [problem] = problemsOf({ TWILIO_ACCOUNT_SID: 'AC123', TWILIO_AUTH_TOKEN: TOKEN });
    expect(problem).toMatch(/^TWILIO_ACCOUNT_SID must be "AC" followed by 32 hex characters/);
    expect(problemsOf({ TWILIO_PHONE_NUMBER: '415-555-0123' })[0]).toMatch(/^TWILIO_PHONE_NUMBER must be an E\.164/);
    expect(problemsOf({ TWILIO_TIMEOUT: 'soon' })[0]).toMatch(/^TWILIO_TIMEOUT must be a number/);
    expect(problemsOf({ TWILIO_TIMEOUT: '0' })[0]).toMatch(/at least 1 second/);
  });

  it('reports every problem at once', () => {
    expect(problemsOf({ TWILIO_PHONE_NUMBER: 'x', TWILIO_REGION: 'Sydney' })).toHaveLength(2);
  });

  it('refuses half-configured credentials', () => {
    expect(problemsOf({ TWILIO_ACCOUNT_SID: SID })[0]).toMatch(/TWILIO_AUTH_TOKEN/);
    expect(problemsOf({ TWILIO_AUTH_TOKEN: TOKEN })[0]).toMatch(/TWILIO_ACCOUNT_SID is not/);
    expect(problemsOf({ TWILIO_API_KEY: `SK${'b'.repeat(32)}`, TWILIO_API_SECRET: TOKEN })[0]).toMatch(/needs TWILIO_ACCOUNT_SID/);
  });

  it('never echoes a secret in its messages', () => {
    const secret = 'short-secret';
    const problems = problemsOf({ TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: secret });
    expect(problems.join(' ')).not.toContain(secret);
  });

  it('normalises the WhatsApp sender', () => {
    expect(loadConfig({ TWILIO_WHATSAPP_NUMBER: '+14155550123' }).whatsappFrom).toBe('whatsapp:+14155550123');
  });
});
