/**
 * Prices from Twilio's Pricing API (messaging and voice, by destination country), cached
 * for a day: with them the spend cap counts what Twilio would charge this account, not a
 * list price. The built-in table (price-table.ts) is only the fallback, and an operator's
 * own prices in the policy file win over both. A failed read is not cached: the next
 * estimate asks again, and this one falls back.
 */
export type PriceSource = 'policy' | 'pricing_api' | 'price_table';

export interface PriceFetchers {
  smsPerSegment(country: string): Promise<number | undefined>;
  callPerMinute(country: string): Promise<number | undefined>;
}

const DAY_MS = 24 * 3600 * 1000;

export class LivePrices {
  private readonly cache = new Map<string, { at: number; price: number | undefined }>();

  constructor(
    private readonly fetchers: PriceFetchers,
    private readonly now: () => number = () => Date.now(),
    private readonly ttlMs = DAY_MS,
  ) {}

  private async cached(key: string, fetch: () => Promise<number | undefined>): Promise<number | undefined> {
    const hit = this.cache.get(key);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.price;
    try {
      const price = await fetch();
      this.cache.set(key, { at: this.now(), price: price !== undefined && Number.isFinite(price) && price >= 0 ? price : undefined });
      return this.cache.get(key)!.price;
    } catch {
      return undefined;
    }
  }

  smsPerSegment(country: string): Promise<number | undefined> {
    return this.cached(`sms:${country}`, () => this.fetchers.smsPerSegment(country));
  }

  callPerMinute(country: string): Promise<number | undefined> {
    return this.cached(`call:${country}`, () => this.fetchers.callPerMinute(country));
  }
}
