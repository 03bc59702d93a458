import { describe, expect, it } from 'vitest';
import { requireE164 } from '../../src/domain/phone.js';
import { ToolFailure } from '../../src/errors/tool-failure.js';

function failureOf(fn: () => unknown): ToolFailure {
  try {
    fn();
  } catch (error) {
    if (error instanceof ToolFailure) return error;
    throw error;
  }
  throw new Error('expected a ToolFailure');
}

describe('requireE164', () => {
  it("accepts Twilio's magic test numbers", () => {
    for (const n of ['+15005550006', '+15005550001', '+15005550009']) expect(requireE164('to', n)).toBe(n);
  });

  it('accepts ordinary international numbers and strips typed separators', () => {
    expect(requireE164('to', '+44 7700 900123')).toBe('+447700900123');
    expect(requireE164('to', '+1 (415) 555-0123')).toBe('+14155550123');
  });

  it('refuses a national number and suggests the E.164 form from the sender country', () => {
    const f = failureOf(() => requireE164('to', '(415) 555-0123', '+15005550006'));
    expect(f.twilioCode).toBe(21211);
    expect(f.nextStep).toContain('+14155550123');
    expect(f.extra).toEqual({ suggestion: '+14155550123' });
  });

  it('suggests a UK number from a UK sender', () => {
    const f = failureOf(() => requireE164('to', '07700 900123', '+447700900456'));
    expect(f.nextStep).toContain('+447700900123');
  });

  it('gives a generic fix when the sender country is unknown', () => {
    const f = failureOf(() => requireE164('to', '4155550123'));
    expect(f.nextStep).toMatch(/country code/);
    expect(f.extra).toBeUndefined();
  });

  it('refuses numbers too short for their country, naming the field', () => {
    const f = failureOf(() => requireE164('from', '+1415'));
    expect(f.message).toContain('"from"');
    expect(f.message).toMatch(/too few digits/);
    expect(f.twilioCode).toBe(21212);
  });

  it('spells numbers the same way the tool schemas do: full-width digits, Unicode dashes, no-break spaces', () => {
    expect(requireE164('to', '＋１ (４１５) ５５５－０１２３')).toBe('+14155550123');
    expect(requireE164('to', '+1\u00a0415\u2013555\u20100123')).toBe('+14155550123');
  });

  it('refuses a whatsapp: address (callers strip the channel first), saying so', () => {
    expect(failureOf(() => requireE164('to', 'whatsapp:+14155550123')).message).toMatch(/not a WhatsApp address/);
  });

  it('refuses letters and empty strings', () => {
    expect(failureOf(() => requireE164('to', 'alice')).message).toMatch(/E\.164/);
    expect(failureOf(() => requireE164('to', '')).message).toMatch(/E\.164/);
  });
});
