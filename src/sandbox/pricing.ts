/**
 * The Pricing API (pricing.twilio.com): Voice v2 and Messaging v1, quoting the sandbox's
 * one price table (prices.ts), so what it quotes is exactly what the Messages and Calls
 * resources bill and what Usage Records sum.
 *
 * - `GET /v2/Voice/Countries`, `GET /v2/Voice/Countries/{IsoCountry}`
 *   (`outbound_prefix_prices`: one prefix, the country's calling code; `inbound_call_prices`
 *   per number type), `GET /v2/Voice/Numbers/{DestinationNumber}` (`OriginationNumber`
 *   optional; `inbound_call_price` set only for a number the account owns, null otherwise,
 *   as Twilio's docs say).
 * - `GET /v1/Messaging/Countries`, `GET /v1/Messaging/Countries/{IsoCountry}`
 *   (`outbound_sms_prices` per carrier, by sender number type; `inbound_sms_prices`).
 *
 * Every country libphonenumber knows (ISO order) is listed. US, CA, GB, DE, FR, IN, BR and
 * AU name their main carriers with real MCC/MNC; any other country has one carrier,
 * "Sandbox Mobile", on MCC 001 / MNC 01 (ITU's test network), so nothing pretends to be a
 * real network's price. Prices are strings (`"0.0079"`), as Twilio's own examples and the
 * live API send them (the spec types them as numbers). Inbound SMS is quoted at 0: the
 * Messages resource bills nothing for inbound messages. MMS and WhatsApp prices are not
 * part of Twilio's Pricing API; see prices.ts for them.
 *
 * v1/v2 wire format: absolute URLs on https://pricing.twilio.com, `meta` paging. An
 * unknown country or an invalid number is 404/20404, naming the resource without the
 * version, as the other v1/v2 products of the sandbox do.
 */
import { type CountryCode, getCountries, getCountryCallingCode, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { paginateMeta } from './paging.js';
import { INBOUND_MESSAGE, ratesForCallingCode } from './prices.js';
import type { Reply } from './router.js';
import { first, type Params, TwilioError } from './wire.js';

export const PRICING_HOST = 'https://pricing.twilio.com';

interface Carrier {
  carrier: string;
  mcc: string;
  mnc: string;
}

const CARRIERS: Record<string, Carrier[]> = {
  US: [{ carrier: 'AT&T Wireless', mcc: '310', mnc: '410' }, { carrier: 'T-Mobile USA', mcc: '310', mnc: '260' }, { carrier: 'Verizon Wireless', mcc: '311', mnc: '480' }],
  CA: [{ carrier: 'Bell Mobility', mcc: '302', mnc: '610' }, { carrier: 'Rogers Wireless', mcc: '302', mnc: '720' }, { carrier: 'Telus Mobility', mcc: '302', mnc: '220' }],
  GB: [{ carrier: 'EE', mcc: '234', mnc: '30' }, { carrier: 'O2', mcc: '234', mnc: '10' }, { carrier: 'Three', mcc: '234', mnc: '20' }, { carrier: 'Vodafone', mcc: '234', mnc: '15' }],
  DE: [{ carrier: 'Telekom', mcc: '262', mnc: '01' }, { carrier: 'Vodafone', mcc: '262', mnc: '02' }, { carrier: 'O2', mcc: '262', mnc: '03' }],
  FR: [{ carrier: 'Orange', mcc: '208', mnc: '01' }, { carrier: 'SFR', mcc: '208', mnc: '10' }, { carrier: 'Free Mobile', mcc: '208', mnc: '15' }, { carrier: 'Bouygues Telecom', mcc: '208', mnc: '20' }],
  IN: [{ carrier: 'Airtel', mcc: '404', mnc: '10' }, { carrier: 'Vodafone Idea', mcc: '404', mnc: '20' }, { carrier: 'Reliance Jio', mcc: '405', mnc: '857' }],
  BR: [{ carrier: 'TIM', mcc: '724', mnc: '02' }, { carrier: 'Claro', mcc: '724', mnc: '05' }, { carrier: 'Vivo', mcc: '724', mnc: '06' }],
  AU: [{ carrier: 'Telstra', mcc: '505', mnc: '01' }, { carrier: 'Optus', mcc: '505', mnc: '02' }, { carrier: 'Vodafone', mcc: '505', mnc: '03' }],
};
const FALLBACK_CARRIERS: Carrier[] = [{ carrier: 'Sandbox Mobile', mcc: '001', mnc: '01' }];

/** Sender number types that send SMS, and number types that receive calls, as the phone inventory sells them. */
const NANP_COUNTRIES = new Set(['US', 'CA']);
const smsSenderTypes = (iso: string) => (NANP_COUNTRIES.has(iso) ? ['local', 'toll free'] : ['mobile']);
const inboundCallTypes = (iso: string) => (NANP_COUNTRIES.has(iso) ? ['local', 'toll free'] : iso === 'GB' ? ['local', 'mobile', 'toll free'] : ['local', 'mobile']);

const regionNames = new Intl.DisplayNames(['en'], { type: 'region' });
const countryName = (iso: string) => regionNames.of(iso) ?? iso;

/** As Twilio writes list prices: at least four decimals (`"0.0079"`, `"0.1000"`). */
export function listPrice(amount: number): string {
  const four = amount.toFixed(4);
  return Number(four) === amount ? four : String(amount);
}

const price = (amount: number) => ({ base_price: listPrice(amount), current_price: listPrice(amount) });

let countries: CountryCode[] | undefined;
const allCountries = () => (countries ??= [...getCountries()].sort());
const isCountry = (iso: string): iso is CountryCode => allCountries().includes(iso as CountryCode);

export function voiceCountryJson(iso: CountryCode) {
  const callingCode = getCountryCallingCode(iso);
  const rates = ratesForCallingCode(callingCode);
  return {
    country: countryName(iso),
    inbound_call_prices: inboundCallTypes(iso).map((numberType) => ({ ...price(rates.voiceInboundPerMinute), number_type: numberType })),
    iso_country: iso,
    outbound_prefix_prices: [
      {
        ...price(rates.voiceOutboundPerMinute),
        destination_prefixes: [callingCode],
        friendly_name: `Programmable Outbound Minute - ${countryName(iso)}`,
        origination_prefixes: ['ALL'],
      },
    ],
    price_unit: 'USD',
    url: `${PRICING_HOST}/v2/Voice/Countries/${iso}`,
  };
}

export function messagingCountryJson(iso: CountryCode) {
  const rates = ratesForCallingCode(getCountryCallingCode(iso));
  const types = smsSenderTypes(iso);
  return {
    country: countryName(iso),
    inbound_sms_prices: types.map((numberType) => ({ ...price(INBOUND_MESSAGE), number_type: numberType })),
    iso_country: iso,
    outbound_sms_prices: (CARRIERS[iso] ?? FALLBACK_CARRIERS).map((c) => ({
      ...c,
      prices: types.map((numberType) => ({ ...price(rates.smsPerSegment), number_type: numberType })),
    })),
    price_unit: 'USD',
    url: `${PRICING_HOST}/v1/Messaging/Countries/${iso}`,
  };
}

export interface PricingOptions {
  /** The account's numbers (E.164): a destination among them gets an `inbound_call_price`. */
  ownNumbers?: () => string[];
}

const VOICE_COUNTRIES = /^\/v2\/Voice\/Countries(?:\/([^/]+))?$/;
const VOICE_NUMBER = /^\/v2\/Voice\/Numbers\/([^/]+)$/;
const MESSAGING_COUNTRIES = /^\/v1\/Messaging\/Countries(?:\/([^/]+))?$/;

export function isPricingPath(path: string): boolean {
  return VOICE_COUNTRIES.test(path) || VOICE_NUMBER.test(path) || MESSAGING_COUNTRIES.test(path);
}

const notFound = (resource: string) => new TwilioError(404, 20404, `The requested resource ${resource} was not found`);

/** A list of countries in the v1/v2 envelope; paging.ts pages by SID, so each country gets a synthetic one. */
function countryList(query: Params, listUrl: string, product: string) {
  const items = allCountries().map((iso, i) => ({ sid: `PC${i.toString(16).padStart(32, '0')}`, iso }));
  return paginateMeta(items, query, listUrl, 'countries', ({ iso }) => ({ country: countryName(iso), iso_country: iso, url: `${PRICING_HOST}/${product}/Countries/${iso}` }));
}

/** Undefined for a path that is not the Pricing API's, or a method other than GET. */
export function pricingRoute(method: string, path: string, query: Params, options: PricingOptions = {}): Reply | undefined {
  if (method !== 'GET') return undefined;
  const voice = VOICE_COUNTRIES.exec(path);
  const messaging = MESSAGING_COUNTRIES.exec(path);
  const match = voice ?? messaging;
  if (match) {
    const product = voice ? 'v2/Voice' : 'v1/Messaging';
    if (match[1] === undefined) return { status: 200, body: countryList(query, `${PRICING_HOST}/${product}/Countries`, product) };
    const iso = decodeURIComponent(match[1]).toUpperCase();
    if (!isCountry(iso)) throw notFound(`/${product.split('/')[1]}/Countries/${match[1]}`);
    return { status: 200, body: voice ? voiceCountryJson(iso) : messagingCountryJson(iso) };
  }
  const number = VOICE_NUMBER.exec(path);
  if (!number) return undefined;
  let destination: string;
  try {
    destination = decodeURIComponent(number[1]!);
  } catch {
    destination = number[1]!;
  }
  const parsed = parsePhoneNumberFromString(destination.startsWith('+') ? destination : `+${destination}`);
  if (!parsed?.isValid()) throw notFound(`/Voice/Numbers/${number[1]}`);
  const rates = ratesForCallingCode(parsed.countryCallingCode);
  const own = options.ownNumbers?.().includes(parsed.number) ?? false;
  const iso = parsed.country;
  return {
    status: 200,
    body: {
      country: iso ? countryName(iso) : null,
      destination_number: parsed.number,
      inbound_call_price: own ? { ...price(rates.voiceInboundPerMinute), number_type: 'local' } : { base_price: null, current_price: null, number_type: null },
      iso_country: iso ?? null,
      origination_number: first(query, 'OriginationNumber') ?? null,
      outbound_call_prices: [{ ...price(rates.voiceOutboundPerMinute), origination_prefixes: ['ALL'] }],
      price_unit: 'USD',
      url: `${PRICING_HOST}/v2/Voice/Numbers/${parsed.number}`,
    },
  };
}
