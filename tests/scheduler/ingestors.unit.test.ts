/**
 * Which ingestors the scheduler can supervise, and how each is started. A name the config
 * accepts but the scheduler cannot start (files, before it had an entry) would be a child that
 * exits 2 and is restarted forever; so is the files or api ingestor without its sources config.
 */
import { describe, expect, it } from 'vitest';

import { loadConfig } from '../../lib/config/index.ts';
import { SCHEDULED_INGESTORS } from '../../lib/config/schema.ts';
import { ConfigError } from '../../lib/errors.ts';
import { ingestorProcesses } from '../../scheduler/ingestors.ts';

describe('SCHEDULER_INGESTORS', () => {
  it('accepts every ingestor the scheduler can start, and starts files and api in their polling mode with their config', () => {
    const config = loadConfig({
      SCHEDULER_INGESTORS: SCHEDULED_INGESTORS.join(','),
      FILES_CONFIG: 'sources.yaml',
      API_CONFIG: 'apis.yaml',
    });
    expect(config.SCHEDULER_INGESTORS).toEqual([...SCHEDULED_INGESTORS]);
    // cdc and pg-cdc never run together (below): the shop is on one database.
    const names = SCHEDULED_INGESTORS.filter((n) => n !== 'pg-cdc');
    const processes = ingestorProcesses(config, names);
    expect(processes.map((p) => p.name)).toEqual(names.map((n) => `ingest:${n}`));
    const files = processes.find((p) => p.name === 'ingest:files')!;
    expect(files.args.slice(-2)).toEqual([expect.stringMatching(/ingest\/files\/cli\.ts$/), '--watch']);
    expect(files.env?.['FILES_CONFIG']).toBe('sources.yaml');
    const api = processes.find((p) => p.name === 'ingest:api')!;
    expect(api.args.slice(-2)).toEqual([expect.stringMatching(/ingest\/api\/cli\.ts$/), '--watch']);
    expect(api.env?.['API_CONFIG']).toBe('apis.yaml');
  });

  it('starts pg-cdc in its following mode with the shop Postgres settings, and never beside cdc', () => {
    const config = loadConfig({
      SCHEDULER_INGESTORS: 'kafka,pg-cdc',
      SHOP_PG_URL: 'postgres://u:p@db.example:5432/shop',
      PG_CDC_SLOT: 'slot_a',
    });
    const pgCdc = ingestorProcesses(config).find((p) => p.name === 'ingest:pg-cdc')!;
    expect(pgCdc.args.at(-1)).toMatch(/ingest\/pg-cdc\/cli\.ts$/);
    expect(pgCdc.env['SHOP_PG_URL']).toBe('postgres://u:p@db.example:5432/shop');
    expect(pgCdc.env['PG_CDC_SLOT']).toBe('slot_a');
    // Both capture the shop into the same raw_shop tables: one shop database, one ingestor.
    expect(() => ingestorProcesses(loadConfig({ SCHEDULER_INGESTORS: 'cdc,pg-cdc' }))).toThrow(/both cdc and pg-cdc/);
  });

  it('refuses an unknown ingestor by name, and files without FILES_CONFIG before starting anything', () => {
    expect(() => loadConfig({ SCHEDULER_INGESTORS: 'kafka,ftp' })).toThrow(/SCHEDULER_INGESTORS.*kafka, cdc, pg-cdc, files, api/);
    const config = loadConfig({ SCHEDULER_INGESTORS: 'files' });
    expect(() => ingestorProcesses(config)).toThrow(ConfigError);
    expect(() => ingestorProcesses(config)).toThrow(/FILES_CONFIG is empty/);
    expect(() => ingestorProcesses(loadConfig({ SCHEDULER_INGESTORS: 'kafka,api' }))).toThrow(/API_CONFIG is empty/);
  });
});
