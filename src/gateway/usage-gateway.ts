/**
 * Usage records, the balance, and Twilio's Pricing API. Part of the gateway.
 */
import type { SdkCall } from './voice-gateway.js';
import { toNumber } from './sdk-values.js';

export interface UsageRecord {
  category: string;
  description: string;
  count: number | null;
  countUnit: string | null;
  usage: number | null;
  usageUnit: string | null;
  price: number | null;
  priceUnit: string | null;
  startDate: string | null;
  endDate: string | null;
}

export type UsagePeriod = 'today' | 'yesterday' | 'this_month' | 'last_month' | { start: string; end: string };

export interface UsageGateway {
  usage(period: UsagePeriod, category: string | undefined): Promise<UsageRecord[]>;
  balance(): Promise<{ balance: number; currency: string }>;
  /** USD per outbound SMS segment to a country (the first carrier's price for mobile numbers), or undefined. */
  smsPrice(country: string): Promise<number | undefined>;
  /** USD per minute of an outbound call to a country (the cheapest prefix price), or undefined. */
  callPrice(country: string): Promise<number | undefined>;
}

type SdkUsage = { category: string; description: string; count?: string; countUnit?: string; usage?: string; usageUnit?: string; price?: number | string; priceUnit?: string; startDate?: Date | string; endDate?: Date | string };
const day = (d: Date | string | undefined) => (d === undefined ? null : d instanceof Date ? d.toISOString().slice(0, 10) : String(d).slice(0, 10));
const toUsage = (u: SdkUsage): UsageRecord => ({
  category: u.category,
  description: u.description,
  count: toNumber(u.count),
  countUnit: u.countUnit ?? null,
  usage: toNumber(u.usage),
  usageUnit: u.usageUnit ?? null,
  price: toNumber(u.price),
  priceUnit: u.priceUnit ?? null,
  startDate: day(u.startDate),
  endDate: day(u.endDate),
});

export function createUsageGateway(call: SdkCall): UsageGateway {
  return {
    usage: (period, category) =>
      call(async (c) => {
        const options = { limit: 200, ...(category && { category: category as never }) };
        const records = c.usage.records;
        const list =
          period === 'today'
            ? await records.today.list(options)
            : period === 'yesterday'
              ? await records.yesterday.list(options)
              : period === 'this_month'
                ? await records.thisMonth.list(options)
                : period === 'last_month'
                  ? await records.lastMonth.list(options)
                  : await records.list({ ...options, startDate: new Date(`${period.start}T00:00:00Z`), endDate: new Date(`${period.end}T00:00:00Z`) });
        return (list as unknown as SdkUsage[]).map(toUsage);
      }),
    balance: () =>
      call(async (c) => {
        const b = await c.balance.fetch();
        return { balance: Number(b.balance), currency: b.currency };
      }),
    smsPrice: (country) =>
      call(async (c) => {
        type Price = { number_type?: string; numberType?: string; current_price?: string; currentPrice?: string };
        const p = (await c.pricing.v1.messaging.countries(country).fetch()) as unknown as { outboundSmsPrices?: Array<{ prices?: Price[] }> };
        const prices = p.outboundSmsPrices?.flatMap((carrier) => carrier.prices ?? []) ?? [];
        const mobile = prices.find((x) => (x.number_type ?? x.numberType) === 'mobile') ?? prices[0];
        const price = mobile?.current_price ?? mobile?.currentPrice;
        return price !== undefined ? Number(price) : undefined;
      }),
    callPrice: (country) =>
      call(async (c) => {
        // The SDK camel-cases these nested objects (currentPrice), unlike messaging's (current_price).
        const p = (await c.pricing.v2.voice.countries(country).fetch()) as unknown as { outboundPrefixPrices?: Array<{ currentPrice?: string; current_price?: string }> };
        const prices = (p.outboundPrefixPrices ?? []).map((x) => Number(x.currentPrice ?? x.current_price)).filter((n) => Number.isFinite(n));
        return prices.length > 0 ? Math.min(...prices) : undefined;
      }),
  };
}
