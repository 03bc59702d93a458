import { parsePhoneNumberFromString } from 'libphonenumber-js/min';
import { timezones } from 'libphonenumber-geo-carrier';
import { describe, expect, it } from 'vitest';
import { countryTimeZones, localMinutes, placeRecipient, quietHoursVerdict, recipientTimeZones } from '../../src/policy/time-zones.js';

const NIGHT = { start: '21:00', end: '08:00' };
const local = (at: Date, zone: string) => {
  const m = localMinutes(at, zone);
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
};

describe('recipientTimeZones: the number\'s own range, from libphonenumber\'s map', () => {
  // The area codes the old hand-written table put in Eastern time.
  it.each([
    ['402', 'America/Chicago'],
    ['531', 'America/Chicago'],
    ['334', 'America/Chicago'],
    ['985', 'America/Chicago'],
    ['915', 'America/Denver'],
    ['458', 'America/Los_Angeles'],
  ])('+1 %s is in %s only', async (area, zone) => {
    expect(await placeRecipient(`+1${area}5550100`)).toEqual({ zones: [zone], basis: 'number' });
  });

  it('605 (South Dakota) and 701 (North Dakota) span Central and Mountain', async () => {
    for (const area of ['605', '701']) {
      expect(await recipientTimeZones(`+1${area}5550100`)).toEqual(['America/Denver', 'America/North_Dakota/Center']);
    }
  });

  it('places other countries too, by their own ranges', async () => {
    expect(await recipientTimeZones('+33612345678')).toEqual(['Europe/Paris']);
    expect(await recipientTimeZones('+819012345678')).toEqual(['Asia/Tokyo']);
    expect(await recipientTimeZones('+73832123456')).toEqual(['Asia/Novosibirsk']); // +7 383: Novosibirsk, not Moscow
    expect(await recipientTimeZones('+61891234567')).toEqual(['Australia/Adelaide', 'Australia/Perth']);
    expect(await recipientTimeZones('+441481123456')).toEqual(['Europe/Guernsey']);
    expect(await recipientTimeZones('whatsapp:+5592912345678')).toEqual(['America/Manaus']);
  });

  it('lists the country\'s own zones first, so a UK mobile is named London before Guernsey', async () => {
    expect((await recipientTimeZones('+447700900123'))[0]).toBe('Europe/London');
  });

  it('agrees with the library\'s own timezones() lookup (the map is read once here, not per call)', async () => {
    const sample = ['+14025550100', '+16055550100', '+12045550100', '+447700900123', '+79161234567', '+61212345678', '+5511912345678', '+917012345678'];
    for (const number of sample) {
      const fromLibrary = (await timezones(parsePhoneNumberFromString(number)!)) ?? [];
      expect([...(await recipientTimeZones(number))].sort(), number).toEqual([...fromLibrary].sort());
    }
  });
});

describe('recipientTimeZones: numbers the map cannot place fall back to their country', () => {
  it('a Twilio test number (+1500555…) and toll-free get the US zones, not all of NANP from Guam to Bermuda', async () => {
    for (const number of ['+15005550006', '+18005550100', '+15555550100']) {
      const place = await placeRecipient(number);
      expect(place.basis, number).toBe('country');
      expect(place.zones).toEqual(countryTimeZones('US'));
      expect(place.zones).toContain('Pacific/Honolulu');
      expect(place.zones).not.toContain('Pacific/Guam');
      expect(place.zones).not.toContain('Atlantic/Bermuda');
    }
  });

  it('a non-geographic calling code (+882) has no country and no zone', async () => {
    expect(await placeRecipient('+8821234567890')).toEqual({ zones: [], basis: 'unknown' });
    expect(await placeRecipient('+999')).toEqual({ zones: [], basis: 'unknown' });
  });

  it('takes a country\'s zones from ICU', () => {
    expect(countryTimeZones('GG')).toEqual(['Europe/Guernsey']);
    expect(countryTimeZones('US')).toEqual(expect.arrayContaining(['America/New_York', 'America/Chicago', 'America/Phoenix']));
    expect(countryTimeZones('ZZ')).toEqual([]);
  });
});

describe('quietHoursVerdict', () => {
  // January: no daylight saving in North America. 03:00 local and 07:30 local, per zone.
  it.each([
    ['402', 'America/Chicago', '2026-01-15T09:00:00Z', '2026-01-15T13:30:00Z'],
    ['531', 'America/Chicago', '2026-01-15T09:00:00Z', '2026-01-15T13:30:00Z'],
    ['334', 'America/Chicago', '2026-01-15T09:00:00Z', '2026-01-15T13:30:00Z'],
    ['985', 'America/Chicago', '2026-01-15T09:00:00Z', '2026-01-15T13:30:00Z'],
    ['915', 'America/Denver', '2026-01-15T10:00:00Z', '2026-01-15T14:30:00Z'],
    ['458', 'America/Los_Angeles', '2026-01-15T11:00:00Z', '2026-01-15T15:30:00Z'],
  ])('+1 %s is quiet at 03:00 and at 07:30 in %s (07:30 there is after 08:00 Eastern)', async (area, zone, three, halfPastSeven) => {
    const atThree = await quietHoursVerdict(`+1${area}5550100`, new Date(three), NIGHT);
    expect(atThree).toMatchObject({ quiet: true, zone, localTime: '03:00' });
    const atHalfPastSeven = await quietHoursVerdict(`+1${area}5550100`, new Date(halfPastSeven), NIGHT);
    expect(atHalfPastSeven).toMatchObject({ quiet: true, zone, localTime: '07:30' });
    expect(local(new Date(halfPastSeven), 'America/New_York') >= '08:00').toBe(true);
    if (!atHalfPastSeven.quiet) throw new Error('unreachable');
    expect(local(atHalfPastSeven.resumesAt!, zone)).toBe('08:00');
  });

  it('is not quiet in the day, and says which zones it judged', async () => {
    await expect(quietHoursVerdict('+14025550100', new Date('2026-01-15T18:00:00Z'), NIGHT)).resolves.toEqual({
      quiet: false,
      zones: ['America/Chicago'],
      basis: 'number',
    });
  });

  it('a number spanning zones is quiet if ANY zone is, and resumes when ALL are past quiet hours', async () => {
    // 605 at 14:30Z: 08:30 Central (past quiet) but 07:30 Mountain (still quiet).
    const verdict = await quietHoursVerdict('+16055550100', new Date('2026-01-15T14:30:00Z'), NIGHT);
    expect(verdict).toMatchObject({ quiet: true, zone: 'America/Denver', localTime: '07:30', resumesAt: new Date('2026-01-15T15:00:00Z') });
    // At 20:30 Central it is 19:30 Mountain: not quiet. At 21:00 Central quiet starts there, and lasts until 08:00 Mountain.
    expect((await quietHoursVerdict('+16055550100', new Date('2026-01-16T02:30:00Z'), NIGHT)).quiet).toBe(false);
    const evening = await quietHoursVerdict('+16055550100', new Date('2026-01-16T03:00:00Z'), NIGHT);
    expect(evening).toMatchObject({ quiet: true, zone: 'America/North_Dakota/Center', localTime: '21:00', resumesAt: new Date('2026-01-16T15:00:00Z') });
    // Western Australia and South Australia, 2.5 h apart: 22:30 UTC is 07:30 Perth, 10:00 Adelaide (summer).
    const perth = await quietHoursVerdict('+61891234567', new Date('2026-01-15T23:30:00Z'), NIGHT);
    expect(perth).toMatchObject({ quiet: true, zone: 'Australia/Perth', localTime: '07:30', resumesAt: new Date('2026-01-16T00:00:00Z') });
  });

  it('the US fallback for a test number is quiet while it is night in Hawaii, and resumes at 08:00 there', async () => {
    // 17:00Z: 12:00 in New York, 07:00 in Honolulu and Adak.
    const verdict = await quietHoursVerdict('+15005550006', new Date('2026-01-15T17:00:00Z'), NIGHT);
    expect(verdict).toMatchObject({ quiet: true, basis: 'country', localTime: '07:00', resumesAt: new Date('2026-01-15T18:00:00Z') });
    // 20:00Z: 15:00 in New York, 10:00 in Honolulu: quiet nowhere in the US (it would be 06:00 in Guam).
    expect((await quietHoursVerdict('+15005550006', new Date('2026-01-15T20:00:00Z'), NIGHT)).quiet).toBe(false);
  });

  it('judges other countries in their own zone', async () => {
    const at = new Date('2026-01-15T03:14:00Z'); // 03:14 London, 12:14 Tokyo, 04:14 Paris, 14:14 Sydney
    expect(await quietHoursVerdict('+447700900123', at, NIGHT)).toMatchObject({ quiet: true, zone: 'Europe/London', localTime: '03:14', resumesAt: new Date('2026-01-15T08:00:00Z') });
    expect(await quietHoursVerdict('+33612345678', at, NIGHT)).toMatchObject({ quiet: true, zone: 'Europe/Paris', localTime: '04:14', resumesAt: new Date('2026-01-15T07:00:00Z') });
    expect((await quietHoursVerdict('+819012345678', at, NIGHT)).quiet).toBe(false);
    expect((await quietHoursVerdict('+61212345678', at, NIGHT)).quiet).toBe(false);
    expect(await quietHoursVerdict('+79161234567', new Date('2026-01-15T19:00:00Z'), NIGHT)).toMatchObject({ quiet: true, zone: 'Europe/Moscow', localTime: '22:00' });
  });

  it('a number with no zone is never judged quiet (the caller warns that quiet hours were not applied)', async () => {
    await expect(quietHoursVerdict('+8821234567890', new Date('2026-01-15T03:00:00Z'), NIGHT)).resolves.toEqual({ quiet: false, zones: [], basis: 'unknown' });
  });

  it('follows a window that does not cross midnight, end exclusive', async () => {
    const lunch = { start: '11:00', end: '13:00' };
    expect((await quietHoursVerdict('+14025550100', new Date('2026-01-15T17:00:00Z'), lunch)).quiet).toBe(true); // 11:00 Chicago
    expect((await quietHoursVerdict('+14025550100', new Date('2026-01-15T19:00:00Z'), lunch)).quiet).toBe(false); // 13:00
    expect((await quietHoursVerdict('+14025550100', new Date('2026-01-15T16:59:00Z'), lunch)).quiet).toBe(false); // 10:59
  });

  it('gives the right resume time across daylight-saving changes inside the window', async () => {
    // 2026-03-08: New York springs forward at 02:00. 22:00 EST on the 7th = 03:00Z; 08:00 EDT = 12:00Z.
    const spring = await quietHoursVerdict('+12125550100', new Date('2026-03-08T03:00:00Z'), NIGHT);
    expect(spring).toMatchObject({ quiet: true, zone: 'America/New_York', localTime: '22:00', resumesAt: new Date('2026-03-08T12:00:00Z') });
    // 2026-11-01: it falls back at 02:00. 22:00 EDT on Oct 31 = 02:00Z; 08:00 EST = 13:00Z.
    const autumn = await quietHoursVerdict('+12125550100', new Date('2026-11-01T02:00:00Z'), NIGHT);
    expect(autumn).toMatchObject({ quiet: true, resumesAt: new Date('2026-11-01T13:00:00Z') });
  });

  it('says when the zones\' quiet hours together leave no moment free', async () => {
    // 23.5 quiet hours a day, in two zones an hour apart: never free in both at once.
    const verdict = await quietHoursVerdict('+16055550100', new Date('2026-01-15T12:00:00Z'), { start: '08:00', end: '07:30' });
    expect(verdict).toMatchObject({ quiet: true, resumesAt: null });
  });
});
