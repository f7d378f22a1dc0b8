/**
 * Live mode: streams the shop in real time, continuing from the state already in MariaDB.
 * Every second is one step: Poisson-distributed orders at --rate per minute, browsing sessions
 * in proportion (the day's conversion rate, world/traffic.ts), signups, and slowly changing attributes at their yearly
 * rates; order lifecycles and restocks continue on the wall clock.
 */
import type { Config } from '../lib/config/index.ts';
import { UsageError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { AnomalyInjector } from './anomalies/injector.ts';
import type { Manifest } from './anomalies/manifest.ts';
import type { GenerateOptions } from './args.ts';
import { loadLiveState } from './live-state.ts';
import { DEFAULT_SIZE, PROPORTIONS } from './params.ts';
import { BatchWriter, Tally, type OpenSinks, type RunHooks } from './pipeline.ts';
import { Rng } from './random.ts';
import type { RunSummary } from './summary.ts';
import type { OutgoingMessage } from './world/batch.ts';
import { OrderShapes } from './world/orders.ts';
import { Schedule } from './world/schedule.ts';
import { Shop } from './world/shop.ts';
import { browsingSessionsFor } from './world/traffic.ts';

const TICK_MS = 1_000;
const YEAR_MS = 365 * 86_400_000;

/** Sleeps until `untilMs` (wall clock) or until the signal fires. */
function sleepUntil(untilMs: number, signal?: AbortSignal): Promise<void> {
  const wait = untilMs - Date.now();
  if (wait <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, wait);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export async function runLive(
  options: GenerateOptions,
  _config: Config,
  logger: Logger,
  opened: OpenSinks,
  manifest: Manifest | null,
  hooks: RunHooks,
): Promise<RunSummary> {
  if (!opened.mariadb && !options.dryRun) throw new UsageError('--live continues from the state in MariaDB: keep mariadb in --sinks');
  const p = PROPORTIONS;
  const started = Date.now();
  const startedHr = process.hrtime.bigint();
  const state = opened.mariadb
    ? await loadLiveState(opened.mariadb.connection, options.seed, p, new OrderShapes(p), started)
    : {
        next: { customer: 1, product: 1, order: 1, orderItem: 1, payment: 1, restock: 1 },
        customers: [],
        products: [],
        stock: [],
        open: [],
      };
  const shop = new Shop(options.seed, p, state.next);
  for (const c of state.customers) shop.adoptCustomer(c);
  for (const product of state.products) shop.products.set(product.id, product);
  for (const s of state.stock) shop.stock.set(s.productId, s);
  for (const open of state.open) shop.resumeOrder(open);
  const writer = new BatchWriter(opened.sinks, { flushEachBatch: true });
  const tally = new Tally();
  const ordersPerMs = options.rate / 60_000;
  shop.unitsPerPopularityDay =
    (ordersPerMs * 86_400_000 * 2.2) / Math.max(1, [...shop.products.values()].reduce((s, x) => s + x.popularity, 0) || 1);

  if (shop.products.size === 0) {
    // An empty shop: open it with a catalogue so there is something to sell.
    shop.beginStep(`live-catalogue-${started}`);
    const rng = new Rng(options.seed, 'live-catalogue');
    const count = options.products || DEFAULT_SIZE.products;
    const ranks = rng.shuffle(Array.from({ length: count }, (_, i) => i + 1));
    const total = ranks.reduce((s, r) => s + 1 / Math.pow(r, p.productZipfExponent), 0);
    shop.unitsPerPopularityDay = ordersPerMs * 86_400_000 * 2.2;
    for (const rank of ranks) shop.launchProduct(started, started, 1 / Math.pow(rank, p.productZipfExponent) / total);
    const batch = shop.endStep(started);
    tally.add(batch);
    await writer.submit(batch);
  }
  shop.demandAnchorMs = started;
  shop.setDemandDay(started);
  logger.info(
    {
      customers: shop.customers.length,
      products: shop.products.size,
      openOrders: state.open.length,
      nextOrderId: state.next.order,
      rate: options.rate,
    },
    'live mode: continuing the shop',
  );

  const injector = manifest
    ? new AnomalyInjector({ seed: options.seed, rate: options.anomalyRate, manifest, lateHoldSteps: [30, 180] })
    : null;
  const stopAt = options.durationSeconds === null ? Number.POSITIVE_INFINITY : started + options.durationSeconds * 1000;
  let tickStart = Math.floor(started / TICK_MS) * TICK_MS;
  let lastLog = started;
  const future = new Schedule<OutgoingMessage>();
  while (!hooks.signal?.aborted && tickStart < stopAt) {
    const tickEnd = tickStart + TICK_MS;
    await sleepUntil(tickEnd, hooks.signal);
    if (hooks.signal?.aborted) break;
    shop.beginStep(`live-${tickStart}`, tickEnd);
    const rng = shop.rng;
    const actions: { at: number; run: () => void }[] = [];
    const at = () => tickStart + Math.floor(rng.next() * TICK_MS);
    const orders = rng.poisson(ordersPerMs * TICK_MS);
    // New accounts arrive at the default world's ratio of customers to orders; they order soon after.
    for (let i = rng.poisson(ordersPerMs * TICK_MS * (DEFAULT_SIZE.customers / DEFAULT_SIZE.orders)); i > 0; i--) {
      const t = at();
      actions.push({ at: t, run: () => void shop.signUp(t) });
    }
    for (let i = 0; i < orders; i++) {
      const t = at();
      actions.push({
        at: t,
        run: () => {
          const customer = shop.randomCustomer() ?? shop.signUp(t - 1);
          shop.placeOrder(customer, t);
        },
      });
    }
    for (let i = rng.poisson(browsingSessionsFor(p, ordersPerMs * TICK_MS, tickStart)); i > 0; i--) {
      const t = at();
      actions.push({ at: t, run: () => shop.browse(t) });
    }
    const population = shop.customers.length;
    for (let i = rng.poisson((population * p.movesPerCustomerYear * TICK_MS) / YEAR_MS); i > 0; i--) {
      const t = at();
      actions.push({ at: t, run: () => shop.move(shop.randomCustomer()!, t) });
    }
    for (let i = rng.poisson((population * p.emailChangesPerCustomerYear * TICK_MS) / YEAR_MS); i > 0; i--) {
      const t = at();
      actions.push({ at: t, run: () => shop.changeEmail(shop.randomCustomer()!, t) });
    }
    for (let i = rng.poisson((shop.products.size * p.priceChangesPerProductYear * TICK_MS) / YEAR_MS); i > 0; i--) {
      const t = at();
      actions.push({ at: t, run: () => shop.reprice(shop.assortment.pick(rng), t) });
    }
    if (injector) actions.push(...injector.planStep(shop, tickStart, tickEnd, orders));
    actions.sort((a, b) => a.at - b.at);
    for (const action of actions) {
      shop.advanceTo(action.at);
      action.run();
    }
    const batch = shop.endStep(tickEnd);
    // A session is generated whole when it starts; its later clicks wait for their moment.
    const generated = batch.messages;
    for (let i = 0; i < generated.length; i++) if (generated.time(i) >= tickEnd) future.add(generated.time(i), generated.get(i));
    batch.messages = generated.filter((i) => generated.time(i) < tickEnd);
    for (let f = future.popBefore(tickEnd); f; f = future.popBefore(tickEnd)) batch.send(f.item);
    injector?.afterStep(shop, batch, false);
    tally.add(batch);
    await writer.submit(batch);
    if (Date.now() - lastLog >= 10_000) {
      lastLog = Date.now();
      if (!options.quiet) logger.info({ rows: tally.rowsTotal, events: tally.eventsTotal, lagMs: Date.now() - tickEnd }, 'live: progress');
    }
    tickStart = tickEnd;
  }
  // Clicks of sessions still running when we stop are dropped (those visitors just left); late
  // events still held back go out now rather than never.
  if (injector) {
    const now = Date.now();
    shop.beginStep(`live-final-${now}`);
    const batch = shop.endStep(now);
    injector.afterStep(shop, batch, true);
    tally.add(batch);
    await writer.submit(batch);
  }
  await writer.flush();
  return tally.summary({ mode: 'live', seed: options.seed, window: null, sinks: opened.sinks.map((s) => s.name) }, manifest, startedHr);
}
