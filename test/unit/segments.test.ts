import { describe, expect, it } from 'vitest';
import { countSegments } from '../../src/domain/segments.js';

describe('countSegments', () => {
  it('fits 160 GSM-7 characters in one segment and splits 161 into two', () => {
    expect(countSegments('a'.repeat(160))).toMatchObject({ encoding: 'GSM-7', segments: 1 });
    expect(countSegments('a'.repeat(161))).toMatchObject({ encoding: 'GSM-7', segments: 2 });
    expect(countSegments('a'.repeat(306))).toMatchObject({ segments: 2 });
    expect(countSegments('a'.repeat(307))).toMatchObject({ segments: 3 });
  });

  it('counts GSM-7 extension characters twice', () => {
    // 80 euro signs = 160 septets: one segment; one more character tips it over.
    expect(countSegments('€'.repeat(80))).toMatchObject({ encoding: 'GSM-7', segments: 1, characters: 160 });
    expect(countSegments(`${'€'.repeat(80)}a`)).toMatchObject({ encoding: 'GSM-7', segments: 2 });
    expect(countSegments('[]{}').characters).toBe(8);
  });

  it('switches the whole message to UCS-2 for a single non-GSM character', () => {
    expect(countSegments('a'.repeat(69) + 'é')).toMatchObject({ encoding: 'GSM-7' }); // é is in GSM-7
    expect(countSegments('a'.repeat(69) + 'ł')).toMatchObject({ encoding: 'UCS-2', segments: 1 });
    expect(countSegments('a'.repeat(70) + 'ł')).toMatchObject({ encoding: 'UCS-2', segments: 2 });
    expect(countSegments(`${'a'.repeat(159)}😀`)).toMatchObject({ encoding: 'UCS-2', segments: 3 });
  });

  it('uses 67 characters per part for long UCS-2 messages', () => {
    expect(countSegments('ł'.repeat(134))).toMatchObject({ segments: 2 });
    expect(countSegments('ł'.repeat(135))).toMatchObject({ segments: 3 });
  });
});
