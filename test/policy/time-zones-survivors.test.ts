/**
 * Quiet hours where the focused Stryker run of time-zones.ts left them unheld: when quiet
 * hours end on a night the clocks go back at midnight (Chile), that the resume time is on the
 * minute, which zone a refusal names when the number spans several, and that a number known
 * only by a one-zone calling code stays in that zone.
 */
import { describe, expect, it } from 'vitest';
import { placeRecipient, quietHoursVerdict } from '../../src/policy/time-zones.js';

describe('quiet hours: when they end', () => {
  it('a window ending at midnight, on the night Chile turns its clocks back at midnight, ends at the second midnight', async () => {
    // 2026-04-05 00:00 (UTC-3) becomes 2026-04-04 23:00 (UTC-4): 23:30 local is followed by a second 23:00–00:00.
    const verdict = await quietHoursVerdict('+56221234567', new Date('2026-04-05T02:30:00Z'), { start: '20:00', end: '00:00' });
    expect(verdict).toMatchObject({ quiet: true, zone: 'America/Santiago', localTime: '23:30' });
    expect(verdict.quiet && verdict.resumesAt?.toISOString()).toBe('2026-04-05T04:00:00.000Z');
  });

  it('resumes on the minute, whatever the seconds of the moment asked about', async () => {
    const verdict = await quietHoursVerdict('+14155550100', new Date('2026-11-25T05:14:42.123Z'), { start: '21:00', end: '08:00' });
    expect(verdict).toMatchObject({ quiet: true, zone: 'America/Los_Angeles', localTime: '21:14' });
    expect(verdict.quiet && verdict.resumesAt?.toISOString()).toBe('2026-11-25T16:00:00.000Z');
  });
});

describe('quiet hours: which zone a refusal names', () => {
  it('the zone whose quiet hours last longest, not the first listed (+61 8: Adelaide and Perth)', async () => {
    // 01:30 in Adelaide, 23:00 in Perth: both quiet, Perth's night ends 1.5 h later.
    const verdict = await quietHoursVerdict('+61891234567', new Date('2026-11-24T15:00:00Z'), { start: '21:00', end: '08:00' });
    expect(verdict).toMatchObject({ quiet: true, zones: ['Australia/Adelaide', 'Australia/Perth'], zone: 'Australia/Perth', localTime: '23:00' });
    expect(verdict.quiet && verdict.resumesAt?.toISOString()).toBe('2026-11-25T00:00:00.000Z');
  });
});

describe('placing a number', () => {
  it('a number the map knows only by a calling code that names one zone is in that zone, not in every zone of the country', async () => {
    // +86 names Asia/Shanghai alone; China's ICU zones add Urumqi (two hours behind).
    expect(await placeRecipient('+8601012345678')).toEqual({ zones: ['Asia/Shanghai'], basis: 'number' });
    // 08:30 in Shanghai is past quiet hours, though it is 06:30 in Urumqi.
    expect(await quietHoursVerdict('+8601012345678', new Date('2026-11-25T00:30:00Z'), { start: '21:00', end: '08:00' })).toMatchObject({ quiet: false });
  });
});
