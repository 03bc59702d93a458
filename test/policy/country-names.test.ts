import { describe, expect, it } from 'vitest';
import { loadCountryNames } from '../../src/policy/country-names.js';

const names = await loadCountryNames();

describe('describeCountry', () => {
  it('gives the code, the name and the calling code', () => {
    expect(names.describeCountry('GG')).toBe('GG (Guernsey, +44)');
    expect(names.describeCountry('JE')).toBe('JE (Jersey, +44)');
    expect(names.describeCountry('GB')).toBe('GB (United Kingdom, +44)');
    expect(names.describeCountry('US')).toBe('US (United States, +1)');
    expect(names.describeCountry('JM')).toBe('JM (Jamaica, +1)');
    expect(names.describeCountry('KZ')).toBe('KZ (Kazakhstan, +7)');
    expect(names.describeCountry(' ru ')).toBe('RU (Russia, +7)');
  });

  it('gives a code it cannot name as it is, never "Unknown Region"', () => {
    expect(names.describeCountry('XX')).toBe('XX');
    expect(names.describeCountry('ZZ')).toBe('ZZ');
    expect(names.describeCountry('not a code')).toBe('NOT A CODE');
  });
});

describe('callingCodeNote', () => {
  it('says which territories share a calling code, main country first', () => {
    expect(names.callingCodeNote('GG')).toBe('+44 is shared by GB, GG, IM, JE');
    expect(names.callingCodeNote('JE')).toBe('+44 is shared by GB, GG, IM, JE');
    expect(names.callingCodeNote('KZ')).toBe('+7 is shared by RU, KZ');
    const nanp = names.callingCodeNote('CA');
    expect(nanp).toMatch(/^\+1 is shared by US, /);
    expect(nanp?.split(', ')).toEqual(expect.arrayContaining(['CA', 'JM', 'PR']));
    expect(nanp).toBe(names.callingCodeNote('JM'));
  });

  it('says nothing when the code is the country\'s alone, or unknown', () => {
    expect(names.callingCodeNote('FR')).toBeUndefined();
    expect(names.callingCodeNote('DE')).toBeUndefined();
    expect(names.callingCodeNote('XX')).toBeUndefined();
  });
});

describe('calling codes', () => {
  it('lists the countries a code reaches', () => {
    expect(names.countriesOfCallingCode('7')).toEqual(['RU', 'KZ']);
    expect(names.countriesOfCallingCode('+44')).toEqual(['GB', 'GG', 'IM', 'JE']);
    expect(names.countriesOfCallingCode('1')).toHaveLength(25);
    expect(names.countriesOfCallingCode('33')).toEqual(['FR']);
  });

  it('a non-geographic code (+882, international networks) has no country, and says so', () => {
    expect(names.countriesOfCallingCode('882')).toEqual([]);
    expect(names.describeCallingCode('882')).toBe('+882 (non-geographic: no country)');
    expect(names.describeCallingCode('+7')).toBe('+7 (RU, KZ)');
    expect(names.describeCallingCode('999')).toBe('+999 (not an assigned calling code)');
  });
});
