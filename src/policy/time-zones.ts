/**
 * The recipient's local time zone, for quiet hours. One representative zone per country:
 * the zone where most of its people live (US: New York, CA: Toronto, MX: Mexico City,
 * BR: São Paulo, AU: Sydney, RU: Moscow, ID: Jakarta). For the US and Canada (NANP) the
 * area code is a cheap, better guess: Pacific, Mountain, Arizona (no DST), Central,
 * Alaska, Hawaii, Atlantic and Newfoundland codes are listed; other codes are Eastern.
 * An approximation, documented as such: a mobile number moves with its owner.
 * Countries not listed have no known zone, and quiet hours are not applied to them (the
 * decision carries a warning saying so).
 */
const BY_COUNTRY: Record<string, string> = {
  US: 'America/New_York', CA: 'America/Toronto', MX: 'America/Mexico_City', BR: 'America/Sao_Paulo', AR: 'America/Argentina/Buenos_Aires',
  GB: 'Europe/London', IE: 'Europe/Dublin', FR: 'Europe/Paris', DE: 'Europe/Berlin', ES: 'Europe/Madrid', IT: 'Europe/Rome',
  NL: 'Europe/Amsterdam', BE: 'Europe/Brussels', PT: 'Europe/Lisbon', SE: 'Europe/Stockholm', NO: 'Europe/Oslo', DK: 'Europe/Copenhagen',
  FI: 'Europe/Helsinki', PL: 'Europe/Warsaw', CH: 'Europe/Zurich', AT: 'Europe/Vienna', GR: 'Europe/Athens', TR: 'Europe/Istanbul',
  RU: 'Europe/Moscow', UA: 'Europe/Kyiv', IL: 'Asia/Jerusalem', AE: 'Asia/Dubai', SA: 'Asia/Riyadh', IN: 'Asia/Kolkata',
  PK: 'Asia/Karachi', CN: 'Asia/Shanghai', HK: 'Asia/Hong_Kong', JP: 'Asia/Tokyo', KR: 'Asia/Seoul', SG: 'Asia/Singapore',
  PH: 'Asia/Manila', ID: 'Asia/Jakarta', TH: 'Asia/Bangkok', VN: 'Asia/Ho_Chi_Minh', AU: 'Australia/Sydney', NZ: 'Pacific/Auckland',
  ZA: 'Africa/Johannesburg', NG: 'Africa/Lagos', KE: 'Africa/Nairobi', EG: 'Africa/Cairo',
  PR: 'America/Puerto_Rico', CO: 'America/Bogota', CL: 'America/Santiago', PE: 'America/Lima', MY: 'Asia/Kuala_Lumpur', TW: 'Asia/Taipei',
  CZ: 'Europe/Prague', HU: 'Europe/Budapest', RO: 'Europe/Bucharest', LU: 'Europe/Luxembourg', MA: 'Africa/Casablanca',
};

// NANP area codes outside Eastern time, by zone (Canada's are at the end of each list).
const NANP: Array<[string, number[]]> = [
  ['America/Los_Angeles', [206, 209, 213, 253, 279, 310, 323, 341, 350, 360, 408, 415, 424, 425, 442, 503, 509, 510, 530, 541, 559, 562, 564, 619, 626, 628, 650, 657, 661, 669, 702, 707, 714, 725, 747, 760, 775, 805, 818, 820, 831, 840, 858, 909, 916, 925, 949, 951, 971, 236, 250, 604, 672, 778]],
  ['America/Denver', [303, 307, 385, 406, 435, 505, 575, 719, 720, 801, 970, 983, 208, 986, 403, 587, 780, 825, 368]],
  ['America/Phoenix', [480, 520, 602, 623, 928]],
  ['America/Anchorage', [907]],
  ['Pacific/Honolulu', [808]],
  ['America/Halifax', [902, 782, 506, 428]],
  ['America/St_Johns', [709, 879]],
  ['America/Chicago', [205, 210, 214, 217, 218, 219, 224, 225, 228, 251, 254, 256, 262, 281, 309, 312, 314, 316, 318, 319, 320, 331, 337, 346, 361, 405, 409, 414, 417, 430, 432, 469, 479, 501, 504, 507, 512, 515, 563, 573, 580, 601, 608, 612, 615, 618, 620, 630, 636, 641, 651, 660, 662, 682, 708, 712, 713, 715, 726, 731, 737, 763, 773, 779, 785, 806, 815, 816, 817, 830, 832, 847, 870, 872, 901, 903, 913, 918, 920, 931, 936, 940, 952, 956, 972, 979, 204, 306, 431, 639]],
];

export function timeZoneFor(country: string | undefined, e164: string): string | undefined {
  if (e164.startsWith('+1') && (country === 'US' || country === 'CA')) {
    const area = Number(e164.slice(2, 5));
    for (const [zone, codes] of NANP) if (codes.includes(area)) return zone;
  }
  return country ? BY_COUNTRY[country] : undefined;
}

// Building an Intl formatter costs far more than using one: keep one per zone.
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Minutes since local midnight at `at` in `zone`. */
export function localMinutes(at: Date, zone: string): number {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(zone, formatter);
  }
  const parts = formatter.formatToParts(at);
  const hour = Number(parts.find((p) => p.type === 'hour')?.value);
  const minute = Number(parts.find((p) => p.type === 'minute')?.value);
  return hour * 60 + minute;
}
