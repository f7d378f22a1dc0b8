/**
 * The world looks like a shop in its steady state, not like a simulation that just started:
 *  - no ramp-up burst: a window opening on December 1st (the worst case: the holiday season
 *    ends inside it) used to carry 1.7x the orders of the next four weeks in its first four,
 *    with distinct ordering customers spiking (accounts older than the window, one-time buyers
 *    included, all placing an order in the first weeks) and then falling;
 *  - session conversion that varies as a shop's does (it was a flat 5.00 % every week): by
 *    weekday, season, channel, device and campaign, each in the direction params.ts states.
 * Bounds are documented in docs/generator.md (Realism).
 */
import { beforeAll, describe, expect, it } from 'vitest';

import { PROPORTIONS } from '../../generator/params.ts';
import { generateInMemory, type MemoryWorld } from './memory-world.ts';

const FROM = '2024-12-01';
const DAY_MS = 86_400_000;
let world: MemoryWorld;

interface Session {
  weekday: number;
  week: number;
  month: number;
  device: string;
  referrer: string | null;
  campaign: string | null;
  ordered: boolean;
}
const sessions = new Map<string, Session>();

beforeAll(async () => {
  world = await generateInMemory({ seed: 3, from: FROM, days: 84, customers: 1_200, orders: 4_000, products: 100 });
  for (const m of world.messages) {
    const e = JSON.parse(m.value) as {
      session_id: string;
      event_type: string;
      event_time: string;
      device: string;
      referrer: string | null;
      page_url: string;
    };
    let s = sessions.get(e.session_id);
    if (!s) {
      const time = new Date(e.event_time);
      s = {
        weekday: (time.getUTCDay() + 6) % 7,
        week: Math.floor((time.getTime() - Date.parse(`${FROM}T00:00:00Z`)) / (7 * DAY_MS)),
        month: time.getUTCMonth(),
        device: e.device,
        referrer: e.referrer,
        campaign: /[?&]utm_campaign=([^&]+)/.exec(e.page_url)?.[1] ?? null,
        ordered: false,
      };
      sessions.set(e.session_id, s);
    }
    if (e.event_type === 'order_placed') s.ordered = true;
  }
}, 120_000);

/** Conversion (ordering sessions / sessions) per key. */
function conversionBy(key: (s: Session) => string | null): Map<string, { sessions: number; rate: number }> {
  const counts = new Map<string, [number, number]>();
  for (const s of sessions.values()) {
    const k = key(s);
    if (k === null) continue;
    const c = counts.get(k) ?? [0, 0];
    c[0] += 1;
    if (s.ordered) c[1] += 1;
    counts.set(k, c);
  }
  return new Map([...counts].map(([k, [n, o]]) => [k, { sessions: n, rate: o / n }]));
}

describe('no ramp-up artefact', () => {
  const blocks = () => {
    const orders = [0, 0, 0];
    const customers = [new Set<unknown>(), new Set<unknown>(), new Set<unknown>()];
    const start = Date.parse(`${FROM}T00:00:00Z`);
    for (const o of world.tables.orders.values()) {
      const block = Math.floor((Date.parse(`${String(o.placed_at).replace(' ', 'T')}Z`) - start) / (28 * DAY_MS));
      orders[block]! += 1;
      customers[block]!.add(o.customer_id);
    }
    return { orders, customers: customers.map((c) => c.size) };
  };

  it('the first four weeks carry at most 1.35x the orders of the next four (seasonality only, no burst)', () => {
    const { orders } = blocks();
    expect(orders[0]! / orders[1]!).toBeLessThan(1.35);
    expect(orders[0]! / orders[1]!).toBeGreaterThan(1); // December still sells more than January
  });

  it('distinct ordering customers do not spike in the first weeks and fall after', () => {
    const { customers } = blocks();
    expect(customers[0]! / customers[1]!).toBeLessThan(1.1);
    expect(customers[0]! / customers[2]!).toBeLessThan(1.1);
  });

  it('accounts older than the window that were one-time buyers do not come back to order', () => {
    // Pre-existing accounts are those created before the window; a one-time buyer among them
    // placed that one order before it, so their in-window orders come from repeat buyers and
    // from the few who signed up days before the window and had not ordered yet.
    const start = `${FROM} 00:00:00`;
    const preexisting = [...world.tables.customers.values()].filter((c) => String(c.created_at) < start).length;
    const ordering = new Set([...world.tables.orders.values()].map((o) => o.customer_id));
    const preexistingOrdering = [...world.tables.customers.values()].filter(
      (c) => String(c.created_at) < start && ordering.has(c.customer_id),
    ).length;
    const buyers = 1 - PROPORTIONS.nonBuyerShare;
    const repeat = 1 - PROPORTIONS.oneTimeBuyerShare;
    // At most the repeat buyers (plus a little noise) order again; before, every buyer did.
    expect(preexistingOrdering / preexisting).toBeLessThan(buyers * repeat * 1.15);
  });
});

describe('conversion varies like a shop', () => {
  it('differs by weekday: Saturday converts worse than Monday, as conversionWeekdayFactors say', () => {
    const byWeekday = conversionBy((s) => String(s.weekday));
    const monday = byWeekday.get('0')!.rate;
    const saturday = byWeekday.get('5')!.rate;
    const expected = PROPORTIONS.conversionWeekdayFactors[5] / PROPORTIONS.conversionWeekdayFactors[0];
    expect(saturday / monday).toBeLessThan(0.95);
    expect(Math.abs(saturday / monday - expected)).toBeLessThan(0.1);
  });

  it('differs by device: desktop converts at least 1.5x mobile', () => {
    const byDevice = conversionBy((s) => s.device);
    expect(byDevice.get('desktop')!.rate / byDevice.get('mobile')!.rate).toBeGreaterThan(1.5);
  });

  it('differs by channel: the newsletter converts better than paid social', () => {
    const byChannel = conversionBy((s) => s.referrer ?? 'direct');
    expect(byChannel.get('https://mail.shopflow.example/newsletter')!.rate).toBeGreaterThan(
      1.5 * byChannel.get('https://www.instagram.com/')!.rate,
    );
  });

  it('differs by season: December converts better than February', () => {
    const byMonth = conversionBy((s) => String(s.month));
    expect(byMonth.get('11')!.rate).toBeGreaterThan(byMonth.get('1')!.rate * 1.08);
  });

  it('campaigns tag their landing pages and convert differently from one another', () => {
    const byCampaign = [...conversionBy((s) => s.campaign)].filter(([, c]) => c.sessions >= 300);
    expect(byCampaign.length).toBeGreaterThan(10);
    const rates = byCampaign.map(([, c]) => c.rate);
    expect(Math.max(...rates) / Math.min(...rates)).toBeGreaterThan(1.5);
  });

  it('weekly conversion is not flat (it was 5.00 % every week)', () => {
    const weekly = [...conversionBy((s) => String(s.week)).values()].filter((c) => c.sessions >= 1_000).map((c) => c.rate);
    expect(weekly.length).toBeGreaterThan(10);
    expect(Math.max(...weekly) / Math.min(...weekly)).toBeGreaterThan(1.1);
  });
});
