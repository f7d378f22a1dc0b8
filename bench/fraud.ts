/**
 * `npm run bench -- fraud [--scale F] [--seed N] [--to YYYY-MM-DD] [--keep]`
 *
 * How well the fraud detector (int_order_fraud_features -> suspected_fraud_orders) finds the
 * frauds the generator injects, and how often it cries wolf on a shop with none:
 *   labelled world: the default world (10,000 customers, 50,000 orders, 365 days; --scale
 *     multiplies customers and orders) with --anomalies, through the real pipeline (generator
 *     -> MariaDB -> CDC ingestor -> dbt build of the fraud models and everything upstream);
 *     the anomalies manifest names the injected fraud orders;
 *   clean world: the same world without --anomalies: every flag is a false alarm.
 * Targets (issue 20): recall 100 % of injected frauds, precision >= 80 %, flag rate on the
 * clean world < 0.5 % of orders.
 *
 * Baseline, measured on the same two warehouses: the old rule set (an order matching any of
 * card from 2+ countries in 10 minutes, total > 5x median on an account under a day old, 3+
 * failed attempts in 10 minutes), recomputed in SQL beside the features. A sweep of flag scores
 * shows where the configured threshold sits.
 *
 * Last line: the DESIGN.md JSON; value = precision (%) at the configured threshold,
 * ratio_to_ceiling = precision / 100 %.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';

import pg from 'pg';

import { DEFAULT_SIZE } from '../generator/params.ts';
import { loadConfig } from '../lib/config/index.ts';
import { runDbt } from '../lib/dbt/run.ts';
import { printBenchResult, round, timed } from './lib/result.ts';
import { landGeneratedShop, type LandedShop } from './lib/shop-pipeline.ts';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    seed: { type: 'string', default: '42' },
    to: { type: 'string', default: '2025-12-31' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(`usage: npm run bench -- fraud [--scale F] [--seed N] [--to YYYY-MM-DD] [--keep]

Generates the default world twice (with and without --anomalies, 365 days ending --to), lands
each through MariaDB and the CDC ingestor into a scratch warehouse database, builds the fraud
models, and prints precision and recall against the anomalies manifest and the flag rate on
the clean world, with the old rule set as the baseline. --keep keeps the scratch databases.
Environment: as the test suite (services from npm run services:up).
`);
  process.exit(0);
}
const scale = Number(values.scale);
const seed = Number(values.seed);
if (!(scale > 0) || !Number.isInteger(seed) || !/^\d{4}-\d{2}-\d{2}$/.test(values.to)) {
  process.stderr.write('--scale must be > 0, --seed a whole number, --to YYYY-MM-DD\n');
  process.exit(2);
}
const log = (message: string) => process.stderr.write(`[bench fraud] ${message}\n`);

const DAY_MS = 86_400_000;
const to = values.to;
const from = new Date(Date.parse(`${to}T00:00:00Z`) - (DEFAULT_SIZE.days - 1) * DAY_MS).toISOString().slice(0, 10);
const size = {
  from,
  to,
  customers: Math.round(DEFAULT_SIZE.customers * scale),
  products: DEFAULT_SIZE.products,
  orders: Math.round(DEFAULT_SIZE.orders * scale),
  seed,
};

/** Order ids of every injected fraud in a manifest (JSONL). */
function fraudOrderIds(path: string): Set<string> {
  const ids = new Set<string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const entry = JSON.parse(line) as { kind: string; order_id?: number; order_ids?: number[] };
    if (!entry.kind.startsWith('fraud_')) continue;
    for (const id of entry.order_ids ?? [entry.order_id]) if (id !== undefined) ids.add(String(id));
  }
  return ids;
}

interface ScoredOrder {
  orderId: string;
  score: number;
  flagged: boolean;
  oldRules: boolean;
}

// The old rule set, exactly as suspected_fraud_orders had it before the score: card seen from
// 2+ IP countries within 10 minutes of one of the order's attempts, total > 5x the median on an
// account under a day old, 3+ failed attempts within 10 minutes.
const SCORES_SQL = `
  with median as (
    select percentile_cont(0.5) within group (order by total_amount) as median_total
    from intermediate.int_order_fraud_features
  ), old_card as (
    select distinct order_id from (
      select order_id,
             min(ip_country_code) over w as first_country,
             max(ip_country_code) over w as last_country
        from marts.fct_payments
       where card_fingerprint is not null and ip_country_code is not null
      window w as (partition by card_fingerprint order by attempted_at
                   range between interval '10 minutes' preceding and interval '10 minutes' following)
    ) around where first_country <> last_country
  )
  select f.order_id::text as order_id, f.fraud_score as score,
         exists (select 1 from marts.suspected_fraud_orders s where s.order_id = f.order_id) as flagged,
         (exists (select 1 from old_card where old_card.order_id = f.order_id)
          or (f.total_amount > 5 * median.median_total and f.account_age_minutes < 1440)
          or f.max_failures_in_10_min >= 3) as old_rules
    from intermediate.int_order_fraud_features f cross join median`;

const config = loadConfig();
const shops: LandedShop[] = [];

async function buildWorld(label: string, anomalies: boolean): Promise<{ orders: ScoredOrder[]; frauds: Set<string>; seconds: number }> {
  const dir = mkdtempSync(join(tmpdir(), `shopflow-bench-fraud-${label}-`));
  // Kept next to the kept databases with --keep, so the labels can be looked at afterwards.
  const manifest = values.keep ? join(config.rootDir, '.data', 'bench', `fraud-${label}-anomalies.jsonl`) : join(dir, 'anomalies.jsonl');
  mkdirSync(dirname(manifest), { recursive: true });
  let shop: LandedShop | undefined;
  try {
    const { seconds } = await timed(async () => {
      log(
        `${label}: generating ${size.customers} customers, ${size.orders} orders, ${size.from}..${size.to}${anomalies ? ' with anomalies' : ''}`,
      );
      shop = await landGeneratedShop(config, `bench_fraud_${label}`, size, anomalies ? { anomaliesManifest: manifest } : {});
      shops.push(shop);
      log(`${label}: landed; dbt build of the fraud models and their parents`);
      await runDbt(
        shop.config,
        ['build', '--select', '+suspected_fraud_orders', '+int_order_fraud_features', '--indirect-selection', 'cautious'],
        {
          targetPath: join(dir, 'target'),
          logPath: join(dir, 'logs'),
          threads: 2,
          timeoutMs: 30 * 60_000,
        },
      );
    });
    const frauds = anomalies ? fraudOrderIds(manifest) : new Set<string>();
    const client = new pg.Client({ connectionString: shop!.config.WAREHOUSE_URL, application_name: 'shopflow-bench-fraud' });
    client.on('error', () => undefined);
    await client.connect();
    const rows = await client
      .query<{ order_id: string; score: number; flagged: boolean; old_rules: boolean }>(SCORES_SQL)
      .then((r) => r.rows)
      .finally(() => client.end());
    return {
      orders: rows.map((r) => ({ orderId: r.order_id, score: r.score, flagged: r.flagged, oldRules: r.old_rules })),
      frauds,
      seconds,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Measure {
  flagged: number;
  truePositives: number;
  precision: number;
  recall: number;
}

function measure(orders: ScoredOrder[], frauds: Set<string>, isFlagged: (o: ScoredOrder) => boolean): Measure {
  const flagged = orders.filter(isFlagged);
  const truePositives = flagged.filter((o) => frauds.has(o.orderId)).length;
  return {
    flagged: flagged.length,
    truePositives,
    precision: flagged.length === 0 ? 100 : (100 * truePositives) / flagged.length,
    recall: frauds.size === 0 ? 100 : (100 * truePositives) / frauds.size,
  };
}

const pct = (x: number) => `${round(x, 1)} %`;
try {
  const labelled = await buildWorld('labelled', true);
  log(
    `labelled world ready in ${round(labelled.seconds, 1)} s: ${labelled.orders.length} orders, ${labelled.frauds.size} injected fraud orders`,
  );
  const clean = await buildWorld('clean', false);
  log(`clean world ready in ${round(clean.seconds, 1)} s: ${clean.orders.length} orders`);

  const missing = [...labelled.frauds].filter((id) => !labelled.orders.some((o) => o.orderId === id));
  if (missing.length > 0) throw new Error(`injected fraud orders missing from the warehouse: ${missing.join(', ')}`);

  const scored = measure(labelled.orders, labelled.frauds, (o) => o.flagged);
  const old = measure(labelled.orders, labelled.frauds, (o) => o.oldRules);
  const cleanFlagged = clean.orders.filter((o) => o.flagged).length;
  const cleanOld = clean.orders.filter((o) => o.oldRules).length;
  const cleanRate = (100 * cleanFlagged) / clean.orders.length;
  const cleanOldRate = (100 * cleanOld) / clean.orders.length;

  process.stdout.write(
    `\nlabelled world: ${labelled.orders.length} orders, ${labelled.frauds.size} injected fraud orders; clean world: ${clean.orders.length} orders\n`,
  );
  process.stdout.write(
    `detector   flagged ${scored.flagged} (${scored.truePositives} injected): precision ${pct(scored.precision)}, recall ${pct(scored.recall)}; clean world ${cleanFlagged} flagged (${round(cleanRate, 3)} % of orders)\n`,
  );
  process.stdout.write(
    `old rules  flagged ${old.flagged} (${old.truePositives} injected): precision ${pct(old.precision)}, recall ${pct(old.recall)}; clean world ${cleanOld} flagged (${round(cleanOldRate, 3)} % of orders)\n`,
  );
  process.stdout.write('\nflag score sweep (score >= N): precision / recall on the labelled world, flag rate on the clean world\n');
  for (const threshold of [20, 30, 40, 50, 55, 60, 65, 70, 80, 90]) {
    const m = measure(labelled.orders, labelled.frauds, (o) => o.score >= threshold);
    const rate = (100 * clean.orders.filter((o) => o.score >= threshold).length) / clean.orders.length;
    process.stdout.write(
      `  >= ${String(threshold).padStart(3)}: flagged ${String(m.flagged).padStart(5)}, precision ${pct(m.precision).padStart(7)}, recall ${pct(m.recall).padStart(7)}, clean ${round(rate, 3)} %\n`,
    );
  }
  const missed = [...labelled.frauds].filter((id) => !labelled.orders.find((o) => o.orderId === id)?.flagged);
  if (missed.length > 0) process.stdout.write(`missed injected orders: ${missed.join(', ')}\n`);

  printBenchResult({
    bench: 'fraud',
    metric: 'precision of suspected_fraud_orders against the injected frauds',
    unit: '%',
    value: round(scored.precision, 2),
    baselines: {
      old_rules_precision_pct: round(old.precision, 2),
      old_rules_recall_pct: round(old.recall, 2),
      old_rules_clean_flag_rate_pct: round(cleanOldRate, 3),
      ceiling_precision_pct: 100,
    },
    ratio_to_ceiling: round(scored.precision / 100, 4),
    extra: {
      recall_pct: round(scored.recall, 2),
      clean_flag_rate_pct: round(cleanRate, 3),
      flagged: scored.flagged,
      injected_fraud_orders: labelled.frauds.size,
      labelled_orders: labelled.orders.length,
      clean_orders: clean.orders.length,
      clean_flagged: cleanFlagged,
      old_rules_flagged: old.flagged,
      old_rules_clean_flagged: cleanOld,
      targets_met: scored.recall === 100 && scored.precision >= 80 && cleanRate < 0.5,
      world: `${size.customers} customers, ${size.orders} orders, ${size.from}..${size.to}, seed ${seed}`,
    },
  });
} finally {
  if (values.keep) {
    for (const shop of shops) log(`kept warehouse ${shop.config.WAREHOUSE_URL} and shop database ${shop.config.SHOP_DB_URL}`);
  } else {
    for (const shop of shops)
      await shop.drop().catch((error: unknown) => log(`could not drop ${shop.config.WAREHOUSE_URL}: ${String(error)}`));
  }
}
