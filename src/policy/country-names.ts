/**
 * Countries named for people, in refusals and warnings: "GG (Guernsey, +44)", and when a
 * calling code covers several territories, which ones ("+44 is shared by GB, GG, IM, JE"),
 * so an operator allowing +44 numbers knows that allowing GB alone does not cover Jersey.
 * Names come from ICU (Intl.DisplayNames), calling codes from libphonenumber-js metadata;
 * nothing here is a hand-written table.
 */
import { lazy } from '../util/lazy.js';

export interface CountryNames {
  /** "GG (Guernsey, +44)"; a code with no name or calling code is given as it is ("XX"). */
  describeCountry(country: string): string;
  /** "+44 is shared by GB, GG, IM, JE" (main country first); undefined when the code is the country's alone. */
  callingCodeNote(country: string): string | undefined;
  /** The countries and territories a calling code reaches, main one first: "7" → [RU, KZ]; "882" → []. */
  countriesOfCallingCode(callingCode: string): string[];
  /** "+7 (RU, KZ)", "+882 (non-geographic: no country)", "+999 (not an assigned calling code)". */
  describeCallingCode(callingCode: string): string;
}

interface PhoneMetadata {
  country_calling_codes: Record<string, string[] | undefined>;
  countries: Record<string, [string, ...unknown[]] | undefined>;
  nonGeographic?: Record<string, unknown>;
}

function createCountryNames(metadata: PhoneMetadata, locale: string): CountryNames {
  const regionNames = new Intl.DisplayNames([locale], { type: 'region', fallback: 'none' });
  const nameOf = (country: string): string | undefined => {
    try {
      // ZZ is CLDR's "Unknown Region": not a name a person should read.
      return country === 'ZZ' ? undefined : regionNames.of(country);
    } catch {
      return undefined; // not a region code at all
    }
  };
  const callingCodeOf = (country: string): string | undefined => metadata.countries[country]?.[0];
  const countriesOfCallingCode = (callingCode: string) => [...(metadata.country_calling_codes[callingCode.replace(/^\+/, '')] ?? [])];

  return {
    describeCountry(input) {
      const country = input.trim().toUpperCase();
      const details = [nameOf(country), callingCodeOf(country) && `+${callingCodeOf(country)}`].filter(Boolean);
      return details.length > 0 ? `${country} (${details.join(', ')})` : country;
    },
    callingCodeNote(input) {
      const code = callingCodeOf(input.trim().toUpperCase());
      const sharing = code ? countriesOfCallingCode(code) : [];
      return sharing.length > 1 ? `+${code} is shared by ${sharing.join(', ')}` : undefined;
    },
    countriesOfCallingCode,
    describeCallingCode(input) {
      const code = input.replace(/^\+/, '');
      const countries = countriesOfCallingCode(code);
      if (countries.length > 0) return `+${code} (${countries.join(', ')})`;
      return metadata.nonGeographic?.[code] ? `+${code} (non-geographic: no country)` : `+${code} (not an assigned calling code)`;
    },
  };
}

/** Loads libphonenumber's metadata on first use (not at start) and gives the namer; English names. */
export const loadCountryNames: () => Promise<CountryNames> = lazy(async () => {
  const metadata = (await import('libphonenumber-js/min/metadata')).default as unknown as PhoneMetadata;
  return createCountryNames(metadata, 'en');
});
