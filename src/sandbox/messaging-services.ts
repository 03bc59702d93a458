/**
 * Messaging Services on the messaging host (`messaging.twilio.com/v1`), read-only: the
 * account's one service and the numbers in its sender pool. v1 wire format: ISO 8601 dates
 * without milliseconds, absolute URLs on https://messaging.twilio.com, `meta` paging.
 * Everything else under /v1/Services answers 20404 like an unknown resource.
 */
import type { Account, PhoneNumberConfig } from './account.js';
import { paginateMeta } from './paging.js';
import { type Params, TwilioError } from './wire.js';

export const MESSAGING_HOST = 'https://messaging.twilio.com';

const SERVICE_PATH = /^\/v1\/Services\/([^/]+)(\/PhoneNumbers(?:\/([^/]+))?)?$/;

/** `2015-07-30T20:12:31Z`, as v1 products write dates. */
export const isoSeconds = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function isMessagingPath(path: string): boolean {
  return path === SERVICES_PATH || SERVICE_PATH.test(path);
}

const notFound = (path: string) => new TwilioError(404, 20404, `The requested resource ${path} was not found`);

/** The list of the account's services (its one service). */
const SERVICES_PATH = '/v1/Services';

export function messagingRoute(account: Account, method: string, path: string, query: Params): { status: number; body: unknown } {
  if (path === SERVICES_PATH) {
    if (method !== 'GET') throw notFound(path);
    return { status: 200, body: paginateMeta([account], query, `${MESSAGING_HOST}${SERVICES_PATH}`, 'services', (a) => serviceJson(a)) };
  }
  const [, serviceSid, phoneNumbers, numberSid] = SERVICE_PATH.exec(path) ?? [];
  if (method !== 'GET' || serviceSid !== account.messagingServiceSid) throw notFound(path);
  if (!phoneNumbers) return { status: 200, body: serviceJson(account) };
  const base = `${MESSAGING_HOST}/v1/Services/${serviceSid}/PhoneNumbers`;
  if (numberSid === undefined) {
    return { status: 200, body: paginateMeta(account.numbers, query, base, 'phone_numbers', (n) => servicePhoneNumberJson(account, n)) };
  }
  const number = account.numbers.find((n) => n.sid === numberSid);
  if (!number) throw notFound(path);
  return { status: 200, body: servicePhoneNumberJson(account, number) };
}

export function serviceJson(account: Account) {
  const url = `${MESSAGING_HOST}/v1/Services/${account.messagingServiceSid}`;
  const links = Object.fromEntries(
    [
      ['phone_numbers', 'PhoneNumbers'], ['short_codes', 'ShortCodes'], ['alpha_senders', 'AlphaSenders'], ['messages', 'Messages'],
      ['us_app_to_person', 'Compliance/Usa2p'], ['us_app_to_person_usecases', 'Compliance/Usa2p/Usecases'],
      ['channel_senders', 'ChannelSenders'], ['destination_alpha_senders', 'DestinationAlphaSenders'],
    ].map(([key, name]) => [key, `${url}/${name}`]),
  );
  return {
    account_sid: account.sid,
    area_code_geomatch: true,
    date_created: isoSeconds(account.dateCreated),
    date_updated: isoSeconds(account.dateCreated),
    fallback_method: 'POST',
    fallback_to_long_code: true,
    fallback_url: null,
    friendly_name: 'mcp-server-twilio sandbox service',
    inbound_method: 'POST',
    inbound_request_url: null,
    links,
    mms_converter: true,
    scan_message_content: 'inherit',
    sid: account.messagingServiceSid,
    smart_encoding: false,
    status_callback: null,
    sticky_sender: true,
    synchronous_validation: true,
    url,
    us_app_to_person_registered: false,
    use_inbound_webhook_on_number: true,
    usecase: 'undeclared',
    validity_period: 14400,
  };
}

export function servicePhoneNumberJson(account: Account, n: PhoneNumberConfig) {
  return {
    account_sid: account.sid,
    capabilities: ['MMS', 'SMS', 'Voice'],
    country_code: n.countryCode,
    date_created: isoSeconds(n.dateCreated),
    date_updated: isoSeconds(n.dateUpdated),
    phone_number: n.phoneNumber,
    service_sid: account.messagingServiceSid,
    sid: n.sid,
    url: `${MESSAGING_HOST}/v1/Services/${account.messagingServiceSid}/PhoneNumbers/${n.sid}`,
  };
}
