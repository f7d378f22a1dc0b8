/**
 * The micro-batch leaves the models tagged whole_history (the marts rebuilt from every order at
 * a monthly or per-customer grain) to the nightly and 08:00 builds once a nightly build passed
 * (scheduler/jobs/dbt-args.ts). A model the micro-batch still builds must not read one of them:
 * it would mix last night's table into a fresh one. Read from dbt's manifest (no warehouse
 * needed): every model downstream of a whole_history model carries the tag too, and the tag
 * holds the marts it is meant for and none of the day-grain or alert marts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ALERT_MARTS } from '../../scheduler/jobs/dbt-args.ts';
import { testConfig } from '../helpers/config.ts';
import { dbtRunner } from './helpers.ts';

interface ManifestNode {
  name: string;
  resource_type: string;
  tags: string[];
}
interface Manifest {
  nodes: Record<string, ManifestNode>;
  child_map: Record<string, string[]>;
}

const TAG = 'whole_history';

describe('the whole_history tag', () => {
  const runner = dbtRunner(testConfig());
  let manifest: Manifest;

  beforeAll(async () => {
    await runner.dbt(['parse']);
    manifest = JSON.parse(readFileSync(join(runner.targetPath, 'manifest.json'), 'utf8')) as Manifest;
  }, 180_000);

  afterAll(() => runner.cleanup());

  const models = () => Object.entries(manifest.nodes).filter(([, node]) => node.resource_type === 'model');
  const tagged = () => models().filter(([, node]) => node.tags.includes(TAG));

  it('is closed downstream: no model outside it reads a model inside it', () => {
    const leaks = tagged().flatMap(([id, node]) =>
      (manifest.child_map[id] ?? [])
        .map((child) => manifest.nodes[child])
        .filter((child): child is ManifestNode => child?.resource_type === 'model' && !child.tags.includes(TAG))
        .map((child) => `${node.name} -> ${child.name}`),
    );
    expect(leaks).toEqual([]);
  });

  it('holds the whole-history customer and product marts, not the day-grain or alert marts', () => {
    const names = tagged().map(([, node]) => node.name);
    expect(names).toEqual(expect.arrayContaining(['customer_cohorts_monthly', 'customer_rfm_segments', 'customer_lifetime_value']));
    for (const fresh of ['revenue_daily', 'orders_hourly', 'active_users_daily', 'fct_orders', ...ALERT_MARTS])
      expect(names, `${fresh} is built every cycle`).not.toContain(fresh);
  });
});
