import { describe, expect, it } from 'vitest';
import { toToolFailure } from '../../src/errors/from-twilio.js';
import { ToolFailure } from '../../src/errors/tool-failure.js';
import { OutcomeUnknownError, TwilioUnreachableError } from '../../src/gateway/resilient-request-client.js';
import { failureResult } from '../../src/server/tool-result.js';

describe('error mapping', () => {
  it('turns a RestException into code, plain meaning, next step and more_info', () => {
    const f = toToolFailure({ status: 400, code: 21610, message: 'Attempt to send to unsubscribed recipient', moreInfo: 'x' });
    expect(f.toJSON()).toMatchObject({
      twilio_code: 21610,
      meaning: expect.stringMatching(/opted out/),
      next_step: expect.stringMatching(/START/),
      more_info: 'https://www.twilio.com/docs/errors/21610',
    });
    expect(f.message).toContain('Attempt to send to unsubscribed recipient');
  });

  it('keeps Twilio codes the catalog does not know, with their link', () => {
    const f = toToolFailure({ status: 400, code: 99999, message: 'Something new' });
    expect(f.toJSON()).toMatchObject({ twilio_code: 99999, more_info: 'https://www.twilio.com/docs/errors/99999' });
    expect(f.toJSON().meaning).toBeUndefined();
  });

  it('marks a lost create as outcome unknown', () => {
    const f = toToolFailure(new OutcomeUnknownError('POST', 'https://api.twilio.com/x', 'ECONNRESET'));
    expect(f.outcomeUnknown).toBe(true);
    expect(f.toJSON().outcome_unknown).toBe(true);
  });

  it('says nothing was sent when Twilio was unreachable', () => {
    const f = toToolFailure(new TwilioUnreachableError('ECONNREFUSED', 'Could not reach Twilio'));
    expect(f.nextStep).toMatch(/Nothing was sent/);
    // The campaign engine retries on this flag, never on the message's wording.
    expect(f.toJSON().not_sent).toBe(true);
  });

  it('shapes failures as isError results and hides internal errors', () => {
    const known = failureResult('send_sms', new ToolFailure({ message: 'bad', twilioCode: 21211 }));
    expect(known.isError).toBe(true);
    expect(JSON.parse((known.content[0] as { text: string }).text)).toMatchObject({ error: 'bad', twilio_code: 21211 });
    const internal = failureResult('send_sms', new TypeError('x is undefined'));
    expect((internal.content[0] as { text: string }).text).not.toContain('x is undefined');
  });
});
