/** Lookup v2: every documented rule and Fields combination, "+" in the path, invalid numbers. */
import { describe, expect, it } from 'vitest';
import { lookupRoute } from '../../src/sandbox/lookup.js';
import { parseQuery, TwilioError } from '../../src/sandbox/wire.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const PACKAGES = ['caller_name', 'sim_swap', 'call_forwarding', 'line_status', 'line_type_intelligence', 'identity_match', 'reassigned_number', 'sms_pumping_risk', 'phone_number_quality_score', 'pre_fill'];

async function lookup(number: string, query = ''): Promise<any> {
  const reply = await lookupRoute('GET', `/v2/PhoneNumbers/${number}`, parseQuery(query), { now: () => NOW });
  expect(reply?.status).toBe(200);
  return reply!.body;
}
const nonNull = (body: any) => PACKAGES.filter((k) => body[k] !== null);

describe('basic lookup', () => {
  it('answers from libphonenumber; a raw + in the path is a plus, %2B too', async () => {
    for (const path of ['+14155550100', '%2B14155550100']) {
      expect(await lookup(path)).toMatchObject({
        calling_country_code: '1', country_code: 'US', phone_number: '+14155550100', national_format: '(415) 555-0100',
        valid: true, validation_errors: [], url: 'https://lookups.twilio.com/v2/PhoneNumbers/+14155550100',
      });
    }
    expect(nonNull(await lookup('+14155550100'))).toEqual([]);
  });

  it('takes a national number with CountryCode; without one it is INVALID_COUNTRY_CODE', async () => {
    expect(await lookup('02079460123', 'CountryCode=GB')).toMatchObject({ valid: true, phone_number: '+442079460123', country_code: 'GB', national_format: '020 7946 0123' });
    expect(await lookup('(415)%20555-0100', 'CountryCode=us')).toMatchObject({ valid: true, phone_number: '+14155550100' });
    expect(await lookup('4155550100')).toMatchObject({ valid: false, validation_errors: ['INVALID_COUNTRY_CODE'] });
    expect(await lookup('4155550100', 'CountryCode=ZZ')).toMatchObject({ valid: false, validation_errors: ['INVALID_COUNTRY_CODE'] });
  });

  it('invalid numbers are HTTP 200, valid false, Twilio validation_errors, every package null even when asked', async () => {
    const tooLong = await lookup('+141599299600', 'Fields=line_type_intelligence,caller_name');
    expect(tooLong).toMatchObject({ valid: false, validation_errors: ['TOO_LONG'], phone_number: '+141599299600', calling_country_code: null, country_code: null, national_format: null });
    expect(nonNull(tooLong)).toEqual([]);
    expect((await lookup('+1415')).validation_errors).toEqual(['TOO_SHORT']);
    expect((await lookup('+447700900123')).validation_errors).toEqual(['INVALID_BUT_POSSIBLE']);
    expect((await lookup('hello')).validation_errors).toEqual(['NOT_A_NUMBER']);
    expect((await lookup('+999123456')).validation_errors).toEqual(['INVALID_COUNTRY_CODE']);
  });
});

describe('Fields', () => {
  it('only the packages asked for are non-null, in any combination; validation adds none', async () => {
    const fields = ['line_type_intelligence', 'caller_name', 'sms_pumping_risk', 'sim_swap'];
    for (let mask = 0; mask < 1 << fields.length; mask++) {
      const asked = fields.filter((_, i) => mask & (1 << i));
      const body = await lookup('+14155550100', `Fields=${[...asked, 'validation'].join(',')}`);
      expect(nonNull(body).sort()).toEqual([...asked].sort());
    }
    expect(nonNull(await lookup('+14155550100', 'Fields=%20caller_name%20,,caller_name'))).toEqual(['caller_name']);
  });

  it('an unknown field is 60618, a Twilio package the sandbox does not emulate 60606', async () => {
    const refusal = (query: string) => lookupRoute('GET', '/v2/PhoneNumbers/+14155550100', parseQuery(query)).then(() => undefined, (e: unknown) => e);
    expect(await refusal('Fields=carrier')).toMatchObject({ status: 400, code: 60618 });
    expect(await refusal('Fields=line_type_intelligence,bogus')).toBeInstanceOf(TwilioError);
    for (const field of ['call_forwarding', 'line_status', 'identity_match', 'reassigned_number', 'phone_number_quality_score', 'pre_fill']) {
      expect(await refusal(`Fields=${field}`)).toMatchObject({ code: 60606 });
    }
  });
});

describe('line_type_intelligence', () => {
  const lti = async (n: string) => (await lookup(n, 'Fields=line_type_intelligence')).line_type_intelligence;

  it('+1 numbers: the last digit decides (0-5 mobile, 6-7 landline, 8 fixedVoip, 9 nonFixedVoip)', async () => {
    const types = [];
    for (let d = 0; d <= 9; d++) types.push((await lti(`+1415555010${d}`)).type);
    expect(types).toEqual(['mobile', 'mobile', 'mobile', 'mobile', 'mobile', 'mobile', 'landline', 'landline', 'fixedVoip', 'nonFixedVoip']);
  });

  it("libphonenumber's own types elsewhere; carriers from its map, else a stable Sandbox name; MCC for wireless only", async () => {
    expect(await lti('+447772000001')).toEqual({ type: 'mobile', carrier_name: 'Orange', mobile_country_code: '234', mobile_network_code: expect.stringMatching(/^\d{2}$/), error_code: null });
    expect(await lti('+4915112345678')).toMatchObject({ type: 'mobile', carrier_name: 'T-Mobile', mobile_country_code: '262' });
    expect(await lti('+442079460123')).toMatchObject({ type: 'landline', carrier_name: 'Sandbox Telephone Company', mobile_country_code: null, mobile_network_code: null });
    expect(await lti('+18005550100')).toMatchObject({ type: 'tollFree', carrier_name: 'Sandbox Toll-Free' });
    expect(await lti('+19005550100')).toMatchObject({ type: 'premium' });
    expect(await lti('+15005550006')).toEqual({ type: 'nonFixedVoip', carrier_name: 'Twilio - SMS/MMS-SVR', mobile_country_code: '240', mobile_network_code: '38', error_code: null });
    const once = await lti('+14155550101');
    expect(once.carrier_name).toMatch(/^Sandbox (Wireless|Mobile|Cellular)$/);
    expect(await lti('+14155550101')).toEqual(once);
  });
});

describe('caller_name', () => {
  it('+1 only: stable synthetic names, BUSINESS for landline-like lines, CONSUMER otherwise; elsewhere 60600', async () => {
    const cnam = async (n: string) => (await lookup(n, 'Fields=caller_name')).caller_name;
    const consumer = await cnam('+14155550101');
    expect(consumer).toEqual({ caller_name: expect.stringMatching(/^\w+ \w+$/), caller_type: 'CONSUMER', error_code: null });
    expect(await cnam('+14155550101')).toEqual(consumer);
    expect((await cnam('+14155550106')).caller_type).toBe('BUSINESS');
    expect((await cnam('+18005550100')).caller_type).toBe('BUSINESS');
    expect((await cnam('+14155550109')).caller_type).toBe('CONSUMER');
    expect(await cnam('+447772000001')).toEqual({ caller_name: null, caller_type: null, error_code: 60600 });
  });
});

describe('sms_pumping_risk', () => {
  const risk = async (n: string) => (await lookup(n, 'Fields=sms_pumping_risk')).sms_pumping_risk;
  it('score = the last two digits; bands low <40, moderate <70, high; blocked from 95; premium-rate scores 100', async () => {
    expect(await risk('+14155550107')).toEqual({ carrier_risk_category: 'low', number_blocked: false, number_blocked_date: null, number_blocked_last_3_months: false, sms_pumping_risk_score: 7, error_code: null });
    expect(await risk('+14155550139')).toMatchObject({ sms_pumping_risk_score: 39, carrier_risk_category: 'low' });
    expect(await risk('+14155550140')).toMatchObject({ sms_pumping_risk_score: 40, carrier_risk_category: 'moderate' });
    expect(await risk('+14155550170')).toMatchObject({ sms_pumping_risk_score: 70, carrier_risk_category: 'high', number_blocked: false });
    expect(await risk('+14155550194')).toMatchObject({ sms_pumping_risk_score: 94, number_blocked: false, number_blocked_date: null });
    expect(await risk('+14155550197')).toMatchObject({ sms_pumping_risk_score: 97, number_blocked: true, number_blocked_date: '2026-02-26T12:00:00Z', number_blocked_last_3_months: true });
    expect(await risk('+19005550101')).toMatchObject({ sms_pumping_risk_score: 100, carrier_risk_category: 'high', number_blocked: true });
  });
});

describe('sim_swap', () => {
  const swap = async (n: string) => (await lookup(n, 'Fields=sim_swap')).sim_swap;
  it('mobile only; …00 swapped an hour ago (in period), others at 2024-01-01 + last three digits days', async () => {
    expect((await swap('+447772000100')).last_sim_swap).toEqual({ last_sim_swap_date: '2026-03-01T11:00:00Z', swapped_period: 'PT24H', swapped_in_period: true });
    expect(await swap('+447772000031')).toEqual({
      last_sim_swap: { last_sim_swap_date: '2024-02-01T00:00:00Z', swapped_period: 'PT24H', swapped_in_period: false },
      carrier_name: 'Orange', mobile_country_code: '234', mobile_network_code: expect.stringMatching(/^\d{2}$/), error_code: null,
    });
    expect(await swap('+442079460123')).toEqual({ last_sim_swap: null, carrier_name: null, mobile_country_code: null, mobile_network_code: null, error_code: 60600 });
  });
});

describe('routing', () => {
  it('answers GET /v2/PhoneNumbers/{n} only', async () => {
    expect(await lookupRoute('POST', '/v2/PhoneNumbers/+14155550100', new Map())).toBeUndefined();
    expect(await lookupRoute('GET', '/v1/PhoneNumbers/+14155550100', new Map())).toBeUndefined();
    expect(await lookupRoute('GET', '/v2/PhoneNumbers/+14155550100/Overrides/x', new Map())).toBeUndefined();
  });
});
