/**
 * Where sessions come from and how well they convert. A day's conversion rate is the base
 * rate x its weekday factor x its season factor (params.ts); within the day, channel, device
 * and campaign shift it further. Orders per day are fixed by the plan, so the traffic around
 * them is derived from conversion rather than the other way round:
 *   browsing sessions on a day = orders x (1 / conversion - 1);
 *   an ordering session's channel/device is drawn with weight share x conversion factor,
 *   a browsing session's with weight share x (1 - conversion x factor),
 * which makes each channel's and device's own conversion rate the day's rate x its factor.
 * Factors are normalised so that the traffic mix keeps the day's rate on average.
 */
import type { Proportions } from '../params.ts';
import { Rng, WeightedPicker } from '../random.ts';
import { DAY_MS, seasonal } from './calendar.ts';
import type { Device } from './customer.ts';

export interface TrafficSource {
  /** The first page's referrer (null: typed in or bookmarked). */
  referrer: string | null;
  /** utm_* query string of the landing page ('' without a campaign). */
  landingQuery: string;
  device: Device;
}

interface Channel {
  name: string;
  referrer: string | null;
  share: number;
  conversion: number;
  /** utm_source/utm_medium of the channel's campaigns; null: the channel runs none. */
  campaign: { source: string; medium: string } | null;
}

interface DayTraffic {
  conversion: number;
  ordering: WeightedPicker<number>;
  browsing: WeightedPicker<number>;
  /** Campaign query per channel index for the day's week ('' without a campaign). */
  campaigns: string[];
}

/** ISO-8601 week label of a day, e.g. 2025-w07 (campaigns run a week each). */
function isoWeek(dayMs: number): string {
  const date = new Date(dayMs);
  const weekday = (date.getUTCDay() + 6) % 7;
  const thursday = dayMs - weekday * DAY_MS + 3 * DAY_MS;
  const year = new Date(thursday).getUTCFullYear();
  const week = 1 + Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * DAY_MS));
  return `${year}-w${String(week).padStart(2, '0')}`;
}

/** The session conversion rate of the UTC day starting at dayMs (base x weekday x season). */
export function dayConversion(p: Proportions, dayMs: number): number {
  const weekday = p.conversionWeekdayFactors[(new Date(dayMs).getUTCDay() + 6) % 7]!;
  return Math.min(0.5, p.sessionConversionRate * weekday * seasonal(p.conversionMonthFactors, dayMs));
}

/** Browsing (non-ordering) sessions that go with `orders` orders on the UTC day starting at dayMs. */
export function browsingSessionsFor(p: Proportions, orders: number, dayMs: number): number {
  return orders * (1 / dayConversion(p, dayMs) - 1);
}

export class Traffic {
  readonly #p: Proportions;
  readonly #seed: number;
  readonly #channels: Channel[];
  readonly #devices: { device: Device; share: number; conversion: number }[];
  readonly #devicesOrdering: WeightedPicker<Device>;
  readonly #devicesBrowsing: WeightedPicker<Device>;
  #day: { startMs: number; traffic: DayTraffic } | null = null;

  constructor(p: Proportions, seed: number) {
    this.#p = p;
    this.#seed = seed;
    this.#channels = normalised(
      p.trafficChannels.map(([name, referrer, share, conversion, campaign]) => ({
        name,
        referrer,
        share,
        conversion,
        campaign: campaign ? { source: campaign[0], medium: campaign[1] } : null,
      })),
    );
    this.#devices = normalised(p.deviceConversion.map(([device, share, conversion]) => ({ device, share, conversion })));
    const base = p.sessionConversionRate;
    this.#devicesOrdering = new WeightedPicker(this.#devices.map((d) => [d.device, d.share * d.conversion] as const));
    this.#devicesBrowsing = new WeightedPicker(
      this.#devices.map((d) => [d.device, d.share * Math.max(0, 1 - base * d.conversion)] as const),
    );
  }

  conversionOn(dayMs: number): number {
    return dayConversion(this.#p, dayMs);
  }

  /** Channel, campaign and device of a session at `at`; ordering sessions lean to the better-converting ones. */
  source(rng: Rng, at: number, ordering: boolean): TrafficSource {
    const day = this.#forDay(at);
    const index = (ordering ? day.ordering : day.browsing).pick(rng);
    return {
      referrer: this.#channels[index]!.referrer,
      landingQuery: day.campaigns[index]!,
      device: (ordering ? this.#devicesOrdering : this.#devicesBrowsing).pick(rng),
    };
  }

  #forDay(at: number): DayTraffic {
    const startMs = Math.floor(at / DAY_MS) * DAY_MS;
    if (this.#day?.startMs === startMs) return this.#day.traffic;
    const conversion = this.conversionOn(startMs);
    const week = isoWeek(startMs);
    // Each campaign (channel x week) converts at its own seeded multiple of its channel's rate.
    const campaignFactor = this.#channels.map((c) =>
      c.campaign ? new Rng(this.#seed, 'campaign', c.name, week).logNormal(0, this.#p.campaignConversionSigma) : 1,
    );
    const factor = this.#channels.map((c, i) => c.conversion * campaignFactor[i]!);
    const traffic: DayTraffic = {
      conversion,
      ordering: new WeightedPicker(this.#channels.map((c, i) => [i, c.share * factor[i]!] as const)),
      browsing: new WeightedPicker(this.#channels.map((c, i) => [i, c.share * Math.max(0, 1 - conversion * factor[i]!)] as const)),
      campaigns: this.#channels.map((c) =>
        c.campaign ? `?utm_source=${c.campaign.source}&utm_medium=${c.campaign.medium}&utm_campaign=${c.name}-${week}` : '',
      ),
    };
    this.#day = { startMs, traffic };
    return traffic;
  }
}

/** Shares summing to 1 and conversion factors whose share-weighted mean is 1. */
function normalised<T extends { share: number; conversion: number }>(items: T[]): T[] {
  const shares = items.reduce((s, x) => s + x.share, 0);
  const mean = items.reduce((s, x) => s + (x.share / shares) * x.conversion, 0);
  return items.map((x) => ({ ...x, share: x.share / shares, conversion: x.conversion / mean }));
}
