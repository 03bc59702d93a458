/**
 * The one phone-address type: every spelling of a number yields the same canonical value,
 * the whatsapp: prefix in any case, full-width input, and the refusals (national numbers
 * with the same suggestion requireE164 gives, impossible lengths, letters). Validation is
 * asynchronous (libphonenumber loads on first use), exactly as the MCP SDK runs it.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { canonicalPhoneAddress, configurePhoneDefaults, messagingServiceSid, phoneAddress, senderAddress } from '../../src/domain/phone-address.js';
import { requireE164 } from '../../src/domain/phone.js';
import { ToolFailure } from '../../src/errors/tool-failure.js';

afterEach(() => configurePhoneDefaults({}));

type Outcome = { ok: true; value: unknown } | { ok: false; message: string; params: Record<string, unknown> | undefined };

/** Validates through `~standard.validate`, the entry point the MCP SDK uses. */
async function validate(schema: z.ZodType, value: unknown): Promise<Outcome> {
  const result = await schema['~standard'].validate(value);
  if (!result.issues) return { ok: true, value: result.value };
  const issue = result.issues[0] as { message: string; params?: Record<string, unknown> };
  return { ok: false, message: issue.message, params: issue.params };
}

const to = phoneAddress('to');
const smsTo = phoneAddress('to', { whatsapp: false });

const FULL_WIDTH_DIGITS = '０１２３４５６７８９';
const toFullWidth = (s: string) => s.replace(/\d/g, (d) => FULL_WIDTH_DIGITS[Number(d)]!).replace('+', '＋');

/** Ways people write +1 415 555 0142: the separators and groupings actually seen. */
const spellingsOf = (national: string, cc: string) => {
  const [a, b, c] = [national.slice(0, 3), national.slice(3, 6), national.slice(6)];
  return fc.constantFrom(
    `+${cc}${national}`,
    ` +${cc} ${a} ${b} ${c} `,
    `+${cc} (${a}) ${b}-${c}`,
    `+${cc}.${a}.${b}.${c}`,
    `+${cc}-${a}-${b}-${c}`,
    `+${cc} ${a}\u00a0${b}\u2013${c}`,
    `\t+${cc}${a}${b}${c}\n`,
  );
};

describe('phoneAddress: one canonical value per number', () => {
  it('every accepted spelling, ASCII or full-width, yields the same E.164', async () => {
    await fc.assert(
      fc.asyncProperty(spellingsOf('4155550142', '1'), fc.boolean(), async (spelling, fullWidth) => {
        const outcome = await validate(to, fullWidth ? toFullWidth(spelling) : spelling);
        expect(outcome).toEqual({ ok: true, value: '+14155550142' });
      }),
      { seed: 7, numRuns: 100 },
    );
  });

  it('random separators between the digits of any possible number never change the result', async () => {
    const separator = fc.constantFrom('', ' ', '-', '.', '(', ')', '\u00a0', '\u2010', '－', '（', '）', '　');
    const numbers = fc.constantFrom('+14155550142', '+447700900123', '+4915123456789', '+33612345678', '+15005550006');
    await fc.assert(
      fc.asyncProperty(numbers, fc.array(separator, { minLength: 16, maxLength: 16 }), fc.boolean(), async (number, seps, fullWidth) => {
        const [plus, ...digits] = number;
        const spelled = plus + digits.map((d, i) => seps[i] + d).join('');
        expect(await validate(to, fullWidth ? toFullWidth(spelled) : spelled)).toEqual({ ok: true, value: number });
        expect(canonicalPhoneAddress(spelled)).toBe(number);
      }),
      { seed: 11, numRuns: 200 },
    );
  });

  it('accepts the whatsapp: prefix in any case and writes it lowercase', async () => {
    for (const prefix of ['whatsapp:', 'WhatsApp:', 'WHATSAPP:', 'wHaTsApP: ', 'ｗｈａｔｓａｐｐ：']) {
      expect(await validate(to, `${prefix}+1 (415) 555-0142`)).toEqual({ ok: true, value: 'whatsapp:+14155550142' });
      expect(canonicalPhoneAddress(`${prefix}+1 (415) 555-0142`)).toBe('whatsapp:+14155550142');
    }
  });

  it('keeps Twilio magic test numbers as they are', async () => {
    for (const n of ['+15005550006', '+15005550001', '+15005550009']) expect(await validate(to, n)).toEqual({ ok: true, value: n });
  });

  it('refuses a WhatsApp address where only a plain number can go, saying what to do', async () => {
    const outcome = await validate(smsTo, 'whatsapp:+14155550142');
    expect(outcome.ok).toBe(false);
    expect(outcome.ok || outcome.message).toMatch(/send_whatsapp/);
  });
});

describe('phoneAddress: refusals', () => {
  it('refuses a national number with the suggestion requireE164 gives, from the configured default sender', async () => {
    configurePhoneDefaults({ defaultSender: '+15005550006' });
    const outcome = await validate(to, '(415) 555-0142');
    const fromRequire = (() => {
      try {
        requireE164('to', '(415) 555-0142', '+15005550006');
      } catch (error) {
        return error as ToolFailure;
      }
      throw new Error('requireE164 accepted a national number');
    })();
    expect(outcome).toEqual({
      ok: false,
      message: `${fromRequire.message} ${fromRequire.nextStep}`,
      params: { suggestion: '+14155550142' },
    });
    expect(fromRequire.nextStep).toBe('Did you mean +14155550142? Resend with "to": "+14155550142".');
  });

  it('reads a national number in the default sender country (UK sender, UK number)', async () => {
    configurePhoneDefaults({ defaultSender: 'whatsapp:+447700900456' });
    const outcome = await validate(phoneAddress('recipient'), '07700 900123');
    expect(outcome).toMatchObject({ ok: false, params: { suggestion: '+447700900123' } });
    expect(outcome.ok || outcome.message).toContain('Resend with "recipient": "+447700900123"');
  });

  it('keeps the whatsapp: prefix in the suggestion', async () => {
    configurePhoneDefaults({ defaultSender: '+15005550006' });
    expect(await validate(to, 'whatsapp:(415) 555-0142')).toMatchObject({ ok: false, params: { suggestion: 'whatsapp:+14155550142' } });
  });

  it('gives the generic fix (and no suggestion) when no default sender is configured', async () => {
    const outcome = await validate(to, '(415) 555-0142');
    expect(outcome).toMatchObject({ ok: false, params: undefined });
    expect(outcome.ok || outcome.message).toMatch(/Add the \+ and the country code/);
  });

  it('reads a leading 00 as the international prefix in its suggestion', async () => {
    expect(await validate(to, '0044 7700 900123')).toMatchObject({ ok: false, params: { suggestion: '+447700900123' } });
  });

  it('refuses impossible lengths, letters, empty and bare prefixes, naming the field', async () => {
    for (const bad of ['+1415', '+1 415 555 01420000', '+999123', 'alice', '', '   ', 'whatsapp:', '+', '+1-415-CALL-NOW']) {
      const outcome = await validate(phoneAddress('phone_number'), bad);
      expect(outcome.ok, bad).toBe(false);
      expect(outcome.ok || outcome.message, bad).toContain('"phone_number"');
    }
  });

  it('canonicalPhoneAddress gives undefined when the spelling cannot be canonical (no +, letters, too long)', () => {
    for (const bad of ['(415) 555-0142', 'alice', '', 'whatsapp:', '+0123', '+1234567890123456']) expect(canonicalPhoneAddress(bad), bad).toBeUndefined();
  });
});

describe('senderAddress (opt-out sender)', () => {
  const sender = senderAddress();
  it('accepts a number (canonical) or a Messaging Service SID (hex lowercased)', async () => {
    expect(await validate(sender, ' +1 (500) 555-0006 ')).toEqual({ ok: true, value: '+15005550006' });
    expect(await validate(sender, `MG${'AB'.repeat(16)}`)).toEqual({ ok: true, value: `MG${'ab'.repeat(16)}` });
  });

  it('refuses empty, "*", a malformed SID and a national number, each with what to do', async () => {
    configurePhoneDefaults({ defaultSender: '+15005550006' });
    const cases: Array<[string, RegExp]> = [
      ['', /leave "sender" out to cover every sender/],
      ['  ', /is empty/],
      ['*', /leave "sender" out/],
      ['all senders', /leave "sender" out/],
      ['MG123', /"MG" followed by 32 hex/],
      ['(500) 555-0006', /Did you mean \+15005550006\?/],
    ];
    for (const [input, expected] of cases) {
      const outcome = await validate(sender, input);
      expect(outcome.ok, input).toBe(false);
      expect(outcome.ok || outcome.message, input).toMatch(expected);
    }
  });

  it('messagingServiceSid lowercases the hex and refuses anything else', async () => {
    expect(await validate(messagingServiceSid(), `MG${'F'.repeat(32)}`)).toEqual({ ok: true, value: `MG${'f'.repeat(32)}` });
    expect((await validate(messagingServiceSid(), 'MGxyz')).ok).toBe(false);
  });
});
