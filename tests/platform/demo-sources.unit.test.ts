/**
 * `npm run demo -- --sources`: which sources the demo fills, how the generator is run for them,
 * and what the gate is told to expect. Naming both shop databases would capture two copies of
 * one shop into the same raw_shop keys, so it is refused with the reason. A history export
 * stands alone (no live shop) or beside a shop database.
 */
import { describe, expect, it } from 'vitest';

import { UsageError } from '../../lib/errors.ts';
import { gateSources, generatorRuns, parseDemoSources } from '../../scripts/demo/sources.ts';

describe('demo --sources', () => {
  it("defaults to today's demo: the MariaDB shop and its clickstream", () => {
    const sources = parseDemoSources(undefined);
    expect(sources).toEqual({ database: 'mariadb', clickstream: true, files: false, api: false, history: false });
    expect(gateSources(sources)).toEqual(['database', 'clickstream']);
    expect(generatorRuns(sources)).toEqual([{ sourceDb: 'mariadb', sinks: ['mariadb', 'kafka'], what: 'MariaDB and Kafka' }]);
  });

  it('puts the shop on Postgres and, for the shop API, writes the same world into MariaDB as well', () => {
    const sources = parseDemoSources('postgres, files,api');
    expect(sources).toEqual({ database: 'postgres', clickstream: false, files: true, api: true, history: false });
    expect(gateSources(sources)).toEqual(['database', 'files', 'api']);
    expect(generatorRuns(sources).map((r) => [r.sourceDb, r.sinks])).toEqual([
      ['postgres', ['mariadb']],
      ['mariadb', ['mariadb']],
    ]);
  });

  it('all is the Postgres shop with every other source', () => {
    expect(parseDemoSources('all')).toEqual({ database: 'postgres', clickstream: true, files: true, api: true, history: false });
  });

  it('history alone is a shop export without a live shop: no generator, the gate expects files', () => {
    const sources = parseDemoSources('history');
    expect(sources).toEqual({ database: null, clickstream: false, files: false, api: false, history: true });
    expect(gateSources(sources)).toEqual(['files']);
    expect(generatorRuns(sources)).toEqual([]);
    const beside = parseDemoSources('mariadb,clickstream,history');
    expect(beside).toEqual({ database: 'mariadb', clickstream: true, files: false, api: false, history: true });
    expect(gateSources(beside)).toEqual(['database', 'clickstream', 'files']);
  });

  it('refuses both shop databases, no shop database, and an unknown source, naming why', () => {
    expect(() => parseDemoSources('mariadb,postgres,files,api')).toThrow(UsageError);
    expect(() => parseDemoSources('mariadb,postgres')).toThrow(/both the shop database.*same raw_shop tables/);
    expect(() => parseDemoSources('files,api')).toThrow(/name the shop database, mariadb or postgres/);
    expect(() => parseDemoSources('history,clickstream')).toThrow(/clickstream is the live shop's; name its database/);
    expect(() => parseDemoSources('mariadb,kafka')).toThrow(/unknown source\(s\) kafka/);
  });
});
