/** `npm run generate` flags: defaults, sizes, windows, and clear errors before anything is written. */
import { describe, expect, it } from 'vitest';

import { parseGenerateArgs, type GenerateOptions } from '../../generator/args.ts';
import { UsageError } from '../../lib/errors.ts';

const NOW = Date.UTC(2025, 5, 15, 13, 0, 0);
const parse = (...argv: string[]) => parseGenerateArgs(argv, NOW, '/data') as GenerateOptions;
const fails = (pattern: RegExp, ...argv: string[]) => {
  expect(() => parseGenerateArgs(argv, NOW, '/data')).toThrow(UsageError);
  expect(() => parseGenerateArgs(argv, NOW, '/data')).toThrow(pattern);
};

describe('generate flags', () => {
  it('defaults: backfill of 10,000 customers, 500 products, 50,000 orders over the 365 days up to yesterday', () => {
    const o = parse();
    expect(o).toMatchObject({
      mode: 'backfill',
      customers: 10_000,
      products: 500,
      orders: 50_000,
      days: 365,
      seed: 42,
      sinks: ['mariadb', 'kafka'],
      sourceDb: 'mariadb',
      anomalies: false,
    });
    expect(new Date(o.startMs + (o.days - 1) * 86_400_000).toISOString().slice(0, 10)).toBe('2025-06-14');
  });

  it('--scale multiplies customers and orders; explicit sizes win', () => {
    expect(parse('--scale', '10')).toMatchObject({ customers: 100_000, orders: 500_000, products: 500 });
    expect(parse('--scale', '0.1', '--orders', '7000')).toMatchObject({ customers: 1_000, orders: 7_000 });
  });

  it('--from/--to are inclusive', () => {
    const o = parse('--from', '2024-01-01', '--to', '2024-12-31');
    expect(o.days).toBe(366);
    expect(o.startMs).toBe(Date.UTC(2024, 0, 1));
  });

  it('--anomalies gets a default manifest path under the data directory', () => {
    expect(parse('--anomalies', '--seed', '9').manifest).toBe('/data/generator/anomalies-seed9.jsonl');
    expect(parse('--anomalies', '--manifest', '/tmp/m.jsonl').manifest).toBe('/tmp/m.jsonl');
  });

  it('--help is recognised', () => {
    expect(parseGenerateArgs(['--help'], NOW, '/data')).toBe('help');
  });

  it('rejects bad flags with a message naming the problem', () => {
    fails(/Unknown option '--bogus'/, '--bogus');
    fails(/--from 2024-05-01 is after --to 2024-04-01/, '--from', '2024-05-01', '--to', '2024-04-01');
    fails(/not a real calendar date/, '--from', '2024-02-30');
    fails(/YYYY-MM-DD/, '--to', 'yesterday');
    fails(/--rate must be a number > 0/, '--live', '--rate=-5');
    fails(/--rate applies to --live only/, '--rate', '5');
    fails(/--customers must be a whole number/, '--customers=-3');
    fails(/--orders must be a whole number/, '--orders', '1.5');
    fails(/--scale must be a number > 0/, '--scale', '0');
    fails(/--backfill and --live cannot be combined/, '--backfill', '--live');
    fails(/--from applies to --backfill only/, '--live', '--from', '2024-01-01');
    fails(/unknown sink "postgres"/, '--sinks', 'postgres');
    fails(/--manifest needs --anomalies/, '--manifest', 'x.jsonl');
    fails(/give --from or --days/, '--from', '2024-01-01', '--days', '10');
  });
});
