/**
 * Every Verify, Lookup and phone-number body the sandbox produces, in each state, validated
 * against Twilio's OpenAPI specs with strict objects (extra, misspelt or wrongly typed
 * fields fail), plus the error bodies.
 *
 * Narrow patches, each where the spec contradicts Twilio's own examples:
 * - Lookup's package objects (`caller_name`, `line_type_intelligence`, …) are bare
 *   `type: object` in lookups.v2.phone_number; the spec's component schemas (CallerName,
 *   LineTypeIntelligence, SmsPumpingRisk, SimSwap) describe them, but without `nullable`
 *   while its examples send `error_code: null`. The test checks each package against its
 *   component with every property made nullable.
 * - AvailablePhoneNumber `friendly_name` has `format: phone-number`, yet the spec's example
 *   is "(808) 925-1571"; `latitude`/`longitude` are numbers, yet the example (and the live
 *   API) sends "19.720000". The patch accepts those strings.
 * - IncomingPhoneNumber `type` is in Twilio's current spec but not in the pinned copy (as
 *   in sandbox-openapi.test.ts).
 */
import { Ajv } from 'ajv';
import { beforeEach, describe, expect, it } from 'vitest';
import { type Account, createAccount } from '../../src/sandbox/account.js';
import { SANDBOX_ACCOUNT_SID, TEST_SENDER } from '../../src/sandbox/constants.js';
import { DeviceLog } from '../../src/sandbox/device-log.js';
import { lookupRoute } from '../../src/sandbox/lookup.js';
import { phoneNumbersRoute } from '../../src/sandbox/phone-inventory.js';
import type { Reply } from '../../src/sandbox/router.js';
import { VerifyStore, verifyRoute } from '../../src/sandbox/verify.js';
import { errorBody, parseParams, parseQuery, TwilioError } from '../../src/sandbox/wire.js';
import { createValidator, errorBodySchema, loadSpec } from './openapi.js';

const verifySpec = loadSpec('twilio_verify_v2.json');
const verify = createValidator(verifySpec);
const lookupSpec = loadSpec('twilio_lookups_v2.json');
const lookups = createValidator(lookupSpec);
const apiSpec = loadSpec('twilio_api_v2010.json');
const LOCAL_TYPES = ['local', 'mobile', 'toll_free'].map((t) => `api.v2010.account.available_phone_number_country.available_phone_number_${t}`);
for (const name of LOCAL_TYPES) {
  const props = apiSpec.components.schemas[name].properties;
  expect(props.friendly_name.format).toBe('phone-number');
  delete props.friendly_name.format;
  expect(props.latitude.type).toBe('number');
  props.latitude = props.longitude = { type: 'string', nullable: true, pattern: '^-?\\d+\\.\\d{6}$' };
}
apiSpec.components.schemas['api.v2010.account.incoming_phone_number'].properties.type = { type: 'string', nullable: true };
const api = createValidator(apiSpec);
const validateError = new Ajv().compile(errorBodySchema);

/** A Lookup component schema with every property nullable, as Twilio's examples send them. */
function nullableComponent(name: string): Record<string, any> {
  const schema = structuredClone(lookupSpec.components.schemas[name]);
  for (const [key, value] of Object.entries<any>(schema.properties)) {
    schema.properties[key] = value.$ref ? { ...nullableComponent(value.$ref.split('/').pop()), nullable: true } : { ...value, nullable: true };
  }
  schema.nullable = true;
  return schema;
}
const PACKAGE_COMPONENTS: Record<string, string> = { caller_name: 'CallerName', line_type_intelligence: 'LineTypeIntelligence', sms_pumping_risk: 'SmsPumpingRisk', sim_swap: 'SimSwap' };
const packageValidator = createValidator({ ...lookupSpec, components: { schemas: { ...lookupSpec.components.schemas, ...Object.fromEntries(Object.values(PACKAGE_COMPONENTS).map((c) => [`${c}Nullable`, nullableComponent(c)])) } } });

const error = (e: unknown): Reply => {
  if (e instanceof TwilioError) return { status: e.status, body: errorBody(e.status, e.code, e.message) };
  throw e;
};

let account: Account;
let devices: DeviceLog;
let store: VerifyStore;
let clock: Date;

beforeEach(() => {
  clock = new Date('2026-02-02T08:00:00Z');
  account = createAccount(SANDBOX_ACCOUNT_SID, 'token', TEST_SENDER);
  devices = new DeviceLog();
  store = new VerifyStore(account.sid, devices, { now: () => clock });
});

function verifyCall(method: string, path: string, form: Record<string, string> = {}, query = ''): any {
  let reply: Reply;
  try {
    reply = verifyRoute(store, method, path, parseQuery(query), parseParams(new URLSearchParams(form).toString()))!;
  } catch (e) {
    reply = error(e);
  }
  return reply;
}

function checkVerify(specPath: string, method: string, path: string, form: Record<string, string> = {}, query = ''): any {
  const { status, body } = verifyCall(method, path, form, query);
  expect(verify.response(specPath, method.toLowerCase(), String(status), body), `${method} ${path}`).toEqual([]);
  return body;
}

describe('Verify v2 matches twilio_verify_v2.json', () => {
  it('services: create, fetch, update, list', () => {
    const created = checkVerify('/v2/Services', 'POST', '/v2/Services', { FriendlyName: 'Acme', CodeLength: '5' });
    expect(Object.keys(created).sort()).toEqual(Object.keys(verifySpec.components.schemas['verify.v2.service'].properties).sort());
    checkVerify('/v2/Services/{Sid}', 'GET', `/v2/Services/${created.sid}`);
    checkVerify('/v2/Services/{Sid}', 'POST', `/v2/Services/${created.sid}`, { Psd2Enabled: 'false', TtsName: 'polly' });
    const list = checkVerify('/v2/Services', 'GET', '/v2/Services', {}, 'PageSize=1');
    expect(Object.keys(list).sort()).toEqual(['meta', 'services']);
    expect(verifyCall('DELETE', `/v2/Services/${created.sid}`).status).toBe(204);
  });

  it('verifications in every state and channel, and checks: pending, approved, max_attempts_reached', () => {
    const va = verifyCall('POST', '/v2/Services', { FriendlyName: 'Acme' }).body.sid;
    const V = '/v2/Services/{ServiceSid}/Verifications';
    const ONE = '/v2/Services/{ServiceSid}/Verifications/{Sid}';
    const CHECK = '/v2/Services/{ServiceSid}/VerificationCheck';
    for (const [to, channel] of [['+14155550100', 'sms'], ['+14155550101', 'call'], ['+14155550102', 'whatsapp'], ['a@example.com', 'email']]) {
      const v = checkVerify(V, 'POST', `/v2/Services/${va}/Verifications`, { To: to!, Channel: channel! });
      expect(Object.keys(v).sort()).toEqual(Object.keys(verifySpec.components.schemas['verify.v2.service.verification'].properties).sort());
      checkVerify(ONE, 'GET', `/v2/Services/${va}/Verifications/${v.sid}`);
    }
    const pending = checkVerify(CHECK, 'POST', `/v2/Services/${va}/VerificationCheck`, { To: '+14155550100', Code: '0000' });
    expect(pending.status).toBe('pending');
    expect(Object.keys(pending).sort()).toEqual(Object.keys(verifySpec.components.schemas['verify.v2.service.verification_check'].properties).sort());
    const code = store.codeOf(va, '+14155550101')!;
    expect(checkVerify(CHECK, 'POST', `/v2/Services/${va}/VerificationCheck`, { To: '+14155550101', Code: code }).status).toBe('approved');
    expect(checkVerify(ONE, 'POST', `/v2/Services/${va}/Verifications/${encodeURIComponent('+14155550102')}`, { Status: 'canceled' }).status).toBe('canceled');
    let last: any;
    for (let i = 0; i < 5; i++) last = checkVerify(CHECK, 'POST', `/v2/Services/${va}/VerificationCheck`, { To: 'a@example.com', Code: '0000' });
    expect(last.status).toBe('max_attempts_reached');
    checkVerify(ONE, 'GET', `/v2/Services/${va}/Verifications/${last.sid}`);
  });

  it('errors are Twilio error bodies: 60200, 20001, 60202, 60203, 20404', () => {
    const va = verifyCall('POST', '/v2/Services', { FriendlyName: 'Acme' }).body.sid;
    const bodies = [
      verifyCall('POST', `/v2/Services/${va}/Verifications`, { To: 'x', Channel: 'sms' }),
      verifyCall('POST', '/v2/Services', {}),
      verifyCall('GET', `/v2/Services/VA${'0'.repeat(32)}`),
    ];
    for (let i = 0; i < 6; i++) bodies.push(verifyCall('POST', `/v2/Services/${va}/Verifications`, { To: '+14155550100', Channel: 'sms' }));
    for (let i = 0; i < 6; i++) bodies.push(verifyCall('POST', `/v2/Services/${va}/VerificationCheck`, { To: '+14155550100', Code: '0000' }));
    const errors = bodies.filter((r) => r.status >= 400);
    expect(errors.map((r) => r.body.code).sort()).toEqual([20001, 20404, 60200, 60202, 60203]);
    for (const { body } of errors) expect(validateError(body), JSON.stringify(body)).toBe(true);
  });
});

describe('Lookup v2 matches twilio_lookups_v2.json', () => {
  const PATH = '/v2/PhoneNumbers/{PhoneNumber}';
  it('valid and invalid numbers, every package, each against its component', async () => {
    const fields = 'validation,line_type_intelligence,caller_name,sms_pumping_risk,sim_swap';
    for (const n of ['+14155550100', '+447772000100', '+19005550199', '+15005550006', '+442079460123', '+141599299600', 'nonsense']) {
      for (const query of ['', `Fields=${fields}`]) {
        const reply = (await lookupRoute('GET', `/v2/PhoneNumbers/${n}`, parseQuery(query)))!;
        expect(lookups.response(PATH, 'get', String(reply.status), reply.body), `${n} ${query}`).toEqual([]);
        const body = reply.body as Record<string, unknown>;
        expect(Object.keys(body).sort()).toEqual(Object.keys(lookupSpec.components.schemas['lookups.v2.phone_number'].properties).sort());
        for (const [field, component] of Object.entries(PACKAGE_COMPONENTS)) {
          if (body[field] === null) continue;
          expect(packageValidator.component(`${component}Nullable`, body[field]), `${n} ${field}`).toEqual([]);
          expect(Object.keys(body[field] as object).sort()).toEqual(Object.keys(lookupSpec.components.schemas[component].properties).sort());
        }
      }
    }
  });

  it('field errors are Twilio error bodies', async () => {
    for (const query of ['Fields=carrier', 'Fields=pre_fill']) {
      const reply = await lookupRoute('GET', '/v2/PhoneNumbers/+14155550100', parseQuery(query)).catch(error);
      expect(validateError(reply!.body)).toBe(true);
      expect(reply!.status).toBe(400);
    }
  });
});

describe('phone numbers match twilio_api_v2010.json', () => {
  const A = '/2010-04-01/Accounts/{AccountSid}';
  function check(specPath: string, method: string, rest: string, query = '', form: Record<string, string> = {}): any {
    let reply: Reply;
    try {
      reply = phoneNumbersRoute(account, method, rest, parseQuery(query), parseParams(new URLSearchParams(form).toString()))!;
    } catch (e) {
      reply = error(e);
    }
    if (reply.status >= 400) {
      expect(validateError(reply.body), JSON.stringify(reply.body)).toBe(true);
      return reply.body;
    }
    expect(api.response(`${A}${specPath}`, method.toLowerCase(), String(reply.status), reply.body), `${method} ${rest}`).toEqual([]);
    return reply.body;
  }

  it('countries, one country, and every inventory type', () => {
    const countries = check('/AvailablePhoneNumbers.json', 'GET', '/AvailablePhoneNumbers.json');
    for (const country of countries.countries) {
      check('/AvailablePhoneNumbers/{CountryCode}.json', 'GET', `/AvailablePhoneNumbers/${country.country_code}.json`);
      for (const [key, path] of [['local', 'Local'], ['mobile', 'Mobile'], ['toll_free', 'TollFree']]) {
        if (!country.subresource_uris[key!]) continue;
        const list = check(`/AvailablePhoneNumbers/{CountryCode}/${path}.json`, 'GET', `/AvailablePhoneNumbers/${country.country_code}/${path}.json`, 'PageSize=3');
        expect(list.available_phone_numbers.length, `${country.country_code} ${path}`).toBeGreaterThan(0);
        const props = apiSpec.components.schemas[`api.v2010.account.available_phone_number_country.available_phone_number_${key}`].properties;
        expect(Object.keys(list.available_phone_numbers[0]).sort()).toEqual(Object.keys(props).sort());
      }
    }
  });

  it('buy, list, fetch, update; refusals as error bodies', () => {
    const bought = check('/IncomingPhoneNumbers.json', 'POST', '/IncomingPhoneNumbers.json', '', { AreaCode: '415', VoiceMethod: 'GET' });
    check('/IncomingPhoneNumbers.json', 'POST', '/IncomingPhoneNumbers.json', '', { PhoneNumber: '+18885550100' });
    check('/IncomingPhoneNumbers.json', 'GET', '/IncomingPhoneNumbers.json');
    check('/IncomingPhoneNumbers/{Sid}.json', 'GET', `/IncomingPhoneNumbers/${bought.sid}.json`);
    check('/IncomingPhoneNumbers/{Sid}.json', 'POST', `/IncomingPhoneNumbers/${bought.sid}.json`, '', { FriendlyName: 'x', SmsUrl: 'https://example.com/s' });
    const refused: Array<Record<string, string>> = [{ PhoneNumber: '+15005550000' }, { PhoneNumber: '+15005550001' }, { AreaCode: '533' }];
    for (const form of refused) {
      check('/IncomingPhoneNumbers.json', 'POST', '/IncomingPhoneNumbers.json', '', form);
    }
  });
});
