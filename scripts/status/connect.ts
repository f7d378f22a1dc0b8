/**
 * The connection every status probe of a database opens: short timeouts, so `npm run status`
 * answers within seconds when a database is slow or away, and named so it shows as the status
 * command in pg_stat_activity. The caller ends it.
 */
import pg from 'pg';

export async function connectForStatus(connectionString: string): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString,
    connectionTimeoutMillis: 3_000,
    application_name: 'shopflow-status',
    statement_timeout: 10_000,
  });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}
