/** AvailablePhoneNumbers inventories and filters; buying (magic numbers), update, release. */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { beforeEach, describe, expect, it } from 'vitest';
import { type Account, createAccount } from '../../src/sandbox/account.js';
import { SANDBOX_ACCOUNT_SID, TEST_SENDER } from '../../src/sandbox/constants.js';
import { monthlyNumberPrice, phoneNumbersRoute, type PhoneNumbersOptions } from '../../src/sandbox/phone-inventory.js';
import type { Reply } from '../../src/sandbox/router.js';
import { errorBody, parseParams, parseQuery, TwilioError } from '../../src/sandbox/wire.js';

let account: Account;
const base = `/2010-04-01/Accounts/${SANDBOX_ACCOUNT_SID}`;

function call(method: string, rest: string, query = '', form: Record<string, string> = {}, options: PhoneNumbersOptions = {}): Reply & { body: any } {
  try {
    const reply = phoneNumbersRoute(account, method, rest, parseQuery(query), parseParams(new URLSearchParams(form).toString()), options);
    if (!reply) throw new Error(`not routed: ${method} ${rest}`);
    return reply as Reply & { body: any };
  } catch (error) {
    if (error instanceof TwilioError) return { status: error.status, body: errorBody(error.status, error.code, error.message) };
    throw error;
  }
}
const search = (country: string, type: string, query = '') => call('GET', `/AvailablePhoneNumbers/${country}/${type}.json`, query);
const numbers = (query = '') => call('GET', '/IncomingPhoneNumbers.json', query).body.incoming_phone_numbers as any[];

beforeEach(() => {
  account = createAccount(SANDBOX_ACCOUNT_SID, 'token', TEST_SENDER);
});

describe('AvailablePhoneNumbers', () => {
  it('lists the countries with their number types', () => {
    const { body } = call('GET', '/AvailablePhoneNumbers.json');
    expect(body.uri).toBe(`${base}/AvailablePhoneNumbers.json`);
    const us = body.countries.find((c: any) => c.country_code === 'US');
    expect(us).toEqual({
      country_code: 'US', country: 'United States', uri: `${base}/AvailablePhoneNumbers/US.json`, beta: false,
      subresource_uris: { local: `${base}/AvailablePhoneNumbers/US/Local.json`, toll_free: `${base}/AvailablePhoneNumbers/US/TollFree.json` },
    });
    expect(body.countries.map((c: any) => c.country_code)).toEqual(expect.arrayContaining(['US', 'CA', 'GB']));
    expect(call('GET', '/AvailablePhoneNumbers/gb.json').body.subresource_uris).toHaveProperty('mobile');
  });

  it('US local: deterministic, valid, real places; AreaCode filters; the same query gives the same numbers', () => {
    const first = search('US', 'Local', 'AreaCode=415&PageSize=5').body;
    expect(first.available_phone_numbers).toHaveLength(5);
    for (const n of first.available_phone_numbers) {
      expect(n).toMatchObject({ iso_country: 'US', locality: 'San Francisco', region: 'CA', lata: '722', postal_code: '94103', latitude: '37.774900', address_requirements: 'none', beta: false });
      expect(n.phone_number).toMatch(/^\+1415[2-9]\d{6}$/);
      expect(n.friendly_name).toBe(`(415) ${n.phone_number.slice(5, 8)}-${n.phone_number.slice(8)}`);
      expect(parsePhoneNumberFromString(n.phone_number)?.isValid()).toBe(true);
    }
    expect(search('US', 'Local', 'AreaCode=415&PageSize=5').body).toEqual(first);
    expect(first.uri).toBe(`${base}/AvailablePhoneNumbers/US/Local.json?AreaCode=415&PageSize=5`);
    const all = search('US', 'Local').body.available_phone_numbers;
    expect(all).toHaveLength(50);
    expect(new Set(all.map((n: any) => n.region)).size).toBeGreaterThan(1);
  });

  it('AreaCode 533 finds nothing (200, empty list); an unlisted real area code still has numbers; not an integer is 21451', () => {
    expect(search('US', 'Local', 'AreaCode=533').body.available_phone_numbers).toEqual([]);
    const oakland = search('US', 'Local', 'AreaCode=510&PageSize=3').body.available_phone_numbers;
    expect(oakland.length).toBe(3);
    expect(oakland[0]).toMatchObject({ locality: null, region: null });
    expect(search('US', 'Local', 'AreaCode=abc').body.code).toBe(21451);
    // A Canadian area code is not a US one.
    expect(search('US', 'Local', 'AreaCode=604').body.available_phone_numbers).toEqual([]);
    expect(search('CA', 'Local', 'AreaCode=604&PageSize=2').body.available_phone_numbers[0]).toMatchObject({ iso_country: 'CA', locality: 'Vancouver', region: 'BC' });
  });

  it('Contains: digits, * wildcards and letters on the keypad; a leading + anchors at the start', () => {
    const vanity = search('US', 'Local', 'Contains=TWILIO&PageSize=10').body.available_phone_numbers;
    expect(vanity.length).toBeGreaterThan(0);
    for (const n of vanity) expect(n.phone_number.slice(2)).toContain('894546');
    const wild = search('US', 'Local', 'AreaCode=212&Contains=55*1').body.available_phone_numbers;
    expect(wild.length).toBeGreaterThan(0);
    for (const n of wild) expect(n.phone_number.slice(2)).toMatch(/55\d1/);
    const anchored = search('US', 'Local', `Contains=${encodeURIComponent('+1206')}`).body.available_phone_numbers;
    expect(anchored.length).toBeGreaterThan(0);
    for (const n of anchored) expect(n.phone_number.startsWith('+1206')).toBe(true);
    expect(search('US', 'Local', 'Contains=5').body.code).toBe(20001);
    expect(search('US', 'Local', 'Contains=55-1').body.code).toBe(20001);
  });

  it('SmsEnabled / VoiceEnabled filter by capabilities (NANP numbers ending in 7 are voice-only)', () => {
    const voiceOnly = search('US', 'Local', 'SmsEnabled=false').body.available_phone_numbers;
    expect(voiceOnly.length).toBeGreaterThan(0);
    for (const n of voiceOnly) expect(n).toMatchObject({ capabilities: { voice: true, sms: false, mms: false, fax: false } });
    for (const n of voiceOnly) expect(n.phone_number.endsWith('7')).toBe(true);
    const sms = search('US', 'Local', 'SmsEnabled=true&VoiceEnabled=true').body.available_phone_numbers;
    for (const n of sms) expect(n.capabilities.sms).toBe(true);
    expect(search('US', 'Local', 'VoiceEnabled=false').body.available_phone_numbers).toEqual([]);
    expect(search('US', 'Local', 'SmsEnabled=yes').body.code).toBe(20001);
  });

  it('GB local, mobile and toll-free; a generic country; InLocality; toll-free US', () => {
    const london = search('GB', 'Local', 'InLocality=London&PageSize=3').body.available_phone_numbers;
    expect(london.map((n: any) => n.phone_number.slice(0, 5))).toEqual(['+4420', '+4420', '+4420']);
    expect(london[0]).toMatchObject({ friendly_name: london[0].phone_number, lata: null, region: null, capabilities: { sms: false }, address_requirements: 'any' });
    const mobile = search('GB', 'Mobile', 'PageSize=5').body.available_phone_numbers;
    for (const n of mobile) expect(parsePhoneNumberFromString(n.phone_number)?.getType()).toBe('MOBILE');
    expect(search('GB', 'TollFree', 'PageSize=1').body.available_phone_numbers[0].phone_number).toMatch(/^\+448(00|08)/);
    expect(search('DE', 'Mobile', 'PageSize=2').body.available_phone_numbers).toHaveLength(2);
    const tollFree = search('US', 'TollFree', 'AreaCode=888&PageSize=2').body.available_phone_numbers;
    expect(tollFree[0]).toMatchObject({ locality: null, capabilities: { sms: true } });
    expect(tollFree[0].phone_number).toMatch(/^\+1888/);
  });

  it('an unsupported country or type is 404/20404', () => {
    expect(search('XX', 'Local').body).toMatchObject({ status: 404, code: 20404 });
    expect(search('US', 'Mobile').body).toMatchObject({ status: 404, code: 20404 });
    expect(call('GET', '/AvailablePhoneNumbers/ZZ.json').body.code).toBe(20404);
    expect(phoneNumbersRoute(account, 'POST', '/AvailablePhoneNumbers/US/Local.json', new Map(), new Map())).toBeUndefined();
  });
});

describe('buying', () => {
  it('magic numbers: +15005550006 succeeds, +15005550000 is 21422, +15005550001 is 21421; a refused buy adds nothing', () => {
    expect(call('POST', '/IncomingPhoneNumbers.json', '', { PhoneNumber: '+15005550000' }).body).toEqual(errorBody(400, 21422, 'PhoneNumber +15005550000 is not available'));
    expect(call('POST', '/IncomingPhoneNumbers.json', '', { PhoneNumber: '+15005550001' }).body).toMatchObject({ status: 400, code: 21421 });
    expect(account.numbers).toHaveLength(1);
    const magic = call('POST', '/IncomingPhoneNumbers.json', '', { PhoneNumber: '+15005550006', FriendlyName: 'Test line' });
    expect(magic.status).toBe(201);
    expect(magic.body).toMatchObject({ phone_number: '+15005550006', friendly_name: 'Test line' });
    expect(account.numbers).toHaveLength(1);
  });

  it('AreaCode 533 is 21452, AreaCode 500 gives +15005550006, another buys from the inventory', () => {
    expect(call('POST', '/IncomingPhoneNumbers.json', '', { AreaCode: '533' }).body).toEqual(errorBody(400, 21452, 'No phone numbers found in area code 533'));
    expect(call('POST', '/IncomingPhoneNumbers.json', '', { AreaCode: '5x' }).body.code).toBe(21451);
    expect(call('POST', '/IncomingPhoneNumbers.json', '', {}).body.code).toBe(20001);
    expect(account.numbers).toHaveLength(1);
    expect(call('POST', '/IncomingPhoneNumbers.json', '', { AreaCode: '500' }).body.phone_number).toBe('+15005550006');
    const offered = search('US', 'Local', 'AreaCode=415&PageSize=1').body.available_phone_numbers[0].phone_number;
    const bought = call('POST', '/IncomingPhoneNumbers.json', '', { AreaCode: '415' });
    expect(bought.status).toBe(201);
    expect(bought.body).toMatchObject({ phone_number: offered, friendly_name: `(415) ${offered.slice(5, 8)}-${offered.slice(8)}`, type: 'local' });
    // It is no longer offered, and the account can use it at once.
    expect(search('US', 'Local', 'AreaCode=415').body.available_phone_numbers.map((n: any) => n.phone_number)).not.toContain(offered);
    expect(account.numbers.map((n) => n.phoneNumber)).toEqual([TEST_SENDER, offered]);
    expect(account.numbers[1]).toMatchObject({ countryCode: 'US', smsMethod: 'POST', smsUrl: null });
  });

  it('buys a listed number by PhoneNumber with its configuration; one owned, a +1500 test number or an invalid one is refused', () => {
    const gb = search('GB', 'Mobile', 'PageSize=1').body.available_phone_numbers[0].phone_number;
    const bought = call('POST', '/IncomingPhoneNumbers.json', '', { PhoneNumber: gb, SmsUrl: 'https://example.com/sms', VoiceMethod: 'get' });
    expect(bought.body).toMatchObject({ phone_number: gb, sms_url: 'https://example.com/sms', voice_method: 'GET', type: 'mobile', capabilities: { voice: true, sms: true, mms: false, fax: false } });
    expect(account.numbers.at(-1)!.countryCode).toBe('GB');
    expect(call('POST', '/IncomingPhoneNumbers.json', '', { PhoneNumber: gb }).body.code).toBe(21422);
    expect(call('POST', '/IncomingPhoneNumbers.json', '', { PhoneNumber: '+15005550123' }).body.code).toBe(21422);
    expect(call('POST', '/IncomingPhoneNumbers.json', '', { PhoneNumber: '+1415' }).body.code).toBe(21421);
    const tollFree = call('POST', '/IncomingPhoneNumbers.json', '', { PhoneNumber: '+18885550100' });
    expect(tollFree.body).toMatchObject({ type: 'toll-free', friendly_name: '(888) 555-0100' });
  });

  it('a refused webhook URL refuses the whole buy (21502) and adds nothing', () => {
    const policy = { isOwnReceiver: () => false };
    const refused = call('POST', '/IncomingPhoneNumbers.json', '', { AreaCode: '415', VoiceUrl: 'http://127.0.0.1:9/voice' }, { callbackPolicy: policy });
    expect(refused.body).toMatchObject({ status: 400, code: 21502, message: expect.stringContaining('loopback') });
    expect(account.numbers).toHaveLength(1);
  });
});

describe('IncomingPhoneNumbers', () => {
  it('list filters by PhoneNumber and FriendlyName, with paging', () => {
    call('POST', '/IncomingPhoneNumbers.json', '', { AreaCode: '212', FriendlyName: 'NYC' });
    expect(numbers()).toHaveLength(2);
    expect(numbers(`PhoneNumber=${TEST_SENDER}`).map((n) => n.phone_number)).toEqual([TEST_SENDER]);
    expect(numbers('FriendlyName=NYC')).toHaveLength(1);
    const page = call('GET', '/IncomingPhoneNumbers.json', 'PageSize=1').body;
    expect(page.next_page_uri).toContain('PageToken=PA');
  });

  it('update honours FriendlyName, SmsUrl, SmsMethod, VoiceUrl, VoiceMethod, StatusCallback; empty clears; bad URLs are 21502 and change nothing', () => {
    const sid = account.numbers[0]!.sid;
    const path = `/IncomingPhoneNumbers/${sid}.json`;
    const updated = call('POST', path, '', {
      FriendlyName: 'Main', SmsUrl: 'https://example.com/sms', SmsMethod: 'GET', VoiceUrl: 'https://example.com/voice', VoiceMethod: 'GET', StatusCallback: 'https://example.com/status',
    }).body;
    expect(updated).toMatchObject({ friendly_name: 'Main', sms_url: 'https://example.com/sms', sms_method: 'GET', voice_url: 'https://example.com/voice', voice_method: 'GET', status_callback: 'https://example.com/status' });
    expect(call('POST', path, '', { SmsUrl: '' }).body.sms_url).toBeNull();
    const refused = call('POST', path, '', { VoiceUrl: 'https://example.com/v2', SmsUrl: 'ftp://example.com/x' });
    expect(refused.body).toEqual(errorBody(400, 21502, 'Invalid SmsUrl ftp://example.com/x: it is not an http(s) URL.'));
    expect(call('GET', path).body.voice_url).toBe('https://example.com/voice');
    expect(call('POST', path, '', { VoiceMethod: 'PUT' }).body.code).toBe(20001);
    const policy = { isOwnReceiver: (u: URL) => u.port === '4000' };
    expect(call('POST', path, '', { StatusCallback: 'http://localhost:9/x' }, { callbackPolicy: policy }).body.code).toBe(21502);
    expect(call('POST', path, '', { StatusCallback: 'http://localhost:4000/x' }, { callbackPolicy: policy }).body.status_callback).toBe('http://localhost:4000/x');
  });

  it('delete releases it (204, then 404); the last number may go too', () => {
    call('POST', '/IncomingPhoneNumbers.json', '', { AreaCode: '312' });
    const [keep, drop] = account.numbers;
    expect(call('DELETE', `/IncomingPhoneNumbers/${drop!.sid}.json`).status).toBe(204);
    expect(call('GET', `/IncomingPhoneNumbers/${drop!.sid}.json`).body).toMatchObject({ status: 404, code: 20404 });
    expect(call('DELETE', `/IncomingPhoneNumbers/${keep!.sid}.json`).status).toBe(204);
    expect(account.numbers).toEqual([]);
    expect(numbers()).toEqual([]);
    expect(phoneNumbersRoute(account, 'PUT', `/IncomingPhoneNumbers/${keep!.sid}.json`, new Map(), new Map())).toBeUndefined();
  });
});

describe('prices', () => {
  it('quotes the documented monthly table', () => {
    expect(monthlyNumberPrice('US', 'local')).toEqual({ price: '1.15', priceUnit: 'USD' });
    expect(monthlyNumberPrice('us', 'tollFree').price).toBe('2.15');
    expect(monthlyNumberPrice('GB', 'mobile').price).toBe('1.15');
    expect(monthlyNumberPrice('DE', 'local').price).toBe('3.00');
  });
});
