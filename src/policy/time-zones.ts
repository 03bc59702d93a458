/**
 * The recipient's local time zone, for quiet hours. One representative zone per country
 * (the most populous), and for the US and Canada a zone by area code for the Central,
 * Mountain and Pacific regions (Eastern otherwise). An approximation, documented as such:
 * a number can move with its owner.
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
};

const NANP: Array<[string, number[]]> = [
  ['America/Los_Angeles', [206, 209, 213, 253, 279, 310, 323, 341, 350, 360, 408, 415, 424, 425, 442, 503, 509, 510, 530, 541, 559, 562, 564, 619, 626, 628, 650, 657, 661, 669, 702, 707, 714, 725, 747, 760, 775, 805, 818, 820, 831, 840, 858, 909, 916, 925, 949, 951, 971, 236, 250, 604, 672, 778]],
  ['America/Denver', [303, 307, 385, 406, 435, 480, 505, 520, 575, 602, 623, 719, 720, 801, 928, 970, 983, 208, 986, 403, 587, 780, 825]],
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
