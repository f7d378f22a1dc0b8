/**
 * The demo's sources (`npm run demo -- --sources LIST`): which of the shop's feeds the demo
 * fills, ingests and gates. A shop has one database, captured by CDC: `mariadb` (the binlog,
 * ingest:cdc) or `postgres` (logical replication, ingest:pg-cdc). Both land in the same
 * raw_shop.<table> change log, so naming both would capture two copies of one shop into the
 * same keys: refused. Beside it: `clickstream` (Kafka), `files` (a folder of supplier price
 * lists) and `api` (the generator's shop API, pulled by ingest:api). `history` is a shop's CSV
 * export of its past (docs/history.md), landed by ingest:files: alone (a shop bringing its
 * history before it goes live) or beside a live shop database.
 */
import type { GateSourceName } from '../../lib/config/index.ts';
import { UsageError } from '../../lib/errors.ts';

export const DEMO_SOURCES = ['mariadb', 'postgres', 'clickstream', 'files', 'api', 'history'] as const;
export type DemoSource = (typeof DEMO_SOURCES)[number];

/** Today's demo: the MariaDB shop and its clickstream. */
export const DEFAULT_DEMO_SOURCES: readonly DemoSource[] = ['mariadb', 'clickstream'];

/** The gate's names for the sources (GATE_SOURCES): either shop database is `database`. */
type GateSource = GateSourceName;

export interface DemoSources {
  /** The shop's database, the one CDC captures; null for a history alone (no live shop). */
  database: 'mariadb' | 'postgres' | null;
  clickstream: boolean;
  files: boolean;
  api: boolean;
  /** The example export of a shop's history (ingest/files/examples/history). */
  history: boolean;
}

/**
 * `--sources` as given: a comma list of DEMO_SOURCES, or `all` (the Postgres shop with the
 * clickstream, files and the API; `all` cannot hold both databases). Undefined gives the default.
 */
export function parseDemoSources(text: string | undefined): DemoSources {
  const names =
    text === undefined
      ? [...DEFAULT_DEMO_SOURCES]
      : text.trim() === 'all'
        ? (['postgres', 'clickstream', 'files', 'api'] as DemoSource[])
        : text
            .split(',')
            .map((n) => n.trim())
            .filter((n) => n !== '');
  const unknown = names.filter((n) => !(DEMO_SOURCES as readonly string[]).includes(n));
  if (unknown.length > 0)
    throw new UsageError(`--sources: unknown source(s) ${unknown.join(', ')}; choose from ${DEMO_SOURCES.join(', ')} (or all)`);
  const named = new Set(names as DemoSource[]);
  if (named.has('mariadb') && named.has('postgres'))
    throw new UsageError(
      '--sources: mariadb and postgres are both the shop database, and both land in the same raw_shop tables; name one. ' +
        'The api source serves the MariaDB shop, so --sources postgres,files,api writes the shop to MariaDB as well, for the API only.',
    );
  const live = named.has('mariadb') || named.has('postgres');
  if (!live && !named.has('history'))
    throw new UsageError(
      '--sources: name the shop database, mariadb or postgres (the report and the marts are built on its orders), ' +
        'or history alone (a shop export, no live shop)',
    );
  const liveOnly = (['clickstream', 'files', 'api'] as const).filter((n) => named.has(n));
  if (!live && liveOnly.length > 0)
    throw new UsageError(
      `--sources: ${liveOnly.join(', ')} ${liveOnly.length === 1 ? 'is' : 'are'} the live shop's; name its database (mariadb or postgres) too, or give history alone`,
    );
  return {
    database: named.has('postgres') ? 'postgres' : named.has('mariadb') ? 'mariadb' : null,
    clickstream: named.has('clickstream'),
    files: named.has('files'),
    api: named.has('api'),
    history: named.has('history'),
  };
}

export function describeSources(sources: DemoSources): string {
  return [
    ...(sources.database === null ? [] : [sources.database === 'postgres' ? 'Postgres shop' : 'MariaDB shop']),
    ...(sources.clickstream ? ['clickstream'] : []),
    ...(sources.files ? ['files'] : []),
    ...(sources.api ? ['API'] : []),
    ...(sources.history ? ['history export'] : []),
  ].join(', ');
}

/** GATE_SOURCES for the demo: exactly the sources it fills (a history export lands as files). */
export function gateSources(sources: DemoSources): GateSource[] {
  return [
    ...(sources.database !== null ? (['database'] as const) : []),
    ...(sources.clickstream ? (['clickstream'] as const) : []),
    ...(sources.files || sources.history ? (['files'] as const) : []),
    ...(sources.api ? (['api'] as const) : []),
  ];
}

export interface GeneratorRun {
  sourceDb: 'mariadb' | 'postgres';
  /** The generator's --sinks: `mariadb` is the shop database sink (written to sourceDb). */
  sinks: ('mariadb' | 'kafka')[];
  /** Why this run exists, for the step line. */
  what: string;
}

/**
 * The generator runs that give each source its data, all from one seed (so one world): the
 * shop database with the clickstream, and, when the shop is on Postgres and the API is named,
 * the same world into MariaDB for the shop API to serve (it reads MariaDB).
 */
export function generatorRuns(sources: DemoSources): GeneratorRun[] {
  if (sources.database === null) return [];
  const runs: GeneratorRun[] = [
    {
      sourceDb: sources.database,
      sinks: ['mariadb', ...(sources.clickstream ? (['kafka'] as const) : [])],
      what: `${sources.database === 'postgres' ? 'Postgres' : 'MariaDB'}${sources.clickstream ? ' and Kafka' : ''}`,
    },
  ];
  if (sources.api && sources.database === 'postgres')
    runs.push({ sourceDb: 'mariadb', sinks: ['mariadb'], what: 'MariaDB (served by the shop API)' });
  return runs;
}
