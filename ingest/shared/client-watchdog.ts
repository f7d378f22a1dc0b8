/**
 * A stalled Postgres connection (a frozen server, a dead network path with no RST) never answers
 * and never errors, and statement_timeout cannot help because the server may be the stalled
 * party. This watchdog destroys the client's socket after a deadline, so the pending query fails
 * with a connection error the retry policy understands. The caller gets the backend's pid to end
 * it from another connection: otherwise the abandoned transaction keeps its row locks until the
 * server notices, and the retry would wait on them.
 */
import pg from 'pg';

export function armClientWatchdog(
  client: pg.PoolClient | pg.Client,
  timeoutMs: number,
  onFire?: (backendPid: number | undefined) => void,
): () => void {
  const timer = setTimeout(() => {
    const backendPid = (client as unknown as { processID?: number }).processID;
    // pg exposes no public way to abort a query in flight; its socket is the only handle.
    const socket = (client as unknown as { connection?: { stream?: { destroy(error?: Error): void } } }).connection?.stream;
    // ETIMEDOUT: the retry policy classifies by errno, and this is a timed-out connection.
    socket?.destroy(Object.assign(new Error(`Postgres did not answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    onFire?.(backendPid);
  }, timeoutMs);
  timer.unref();
  return () => clearTimeout(timer);
}

/**
 * Ends abandoned backends of the same role (allowed without extra privileges), on a connection
 * of its own: pooled connections opened before a stall may be stalled too. Returns the pids that
 * are gone (ended now, or already); the caller keeps the others and tries again.
 */
export async function terminateBackends(connectionString: string, backendPids: number[], timeoutMs = 5_000): Promise<number[]> {
  if (backendPids.length === 0) return [];
  const client = new pg.Client({ connectionString, application_name: 'shopflow-ingest-cleanup', connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  const disarm = armClientWatchdog(client, timeoutMs * 2);
  try {
    await client.connect();
    await client.query('select pg_terminate_backend(pid) from unnest($1::int[]) as pid', [backendPids]);
    return backendPids;
  } finally {
    disarm();
    await client.end().catch(() => undefined);
  }
}

/**
 * Runs `work` on a pool client under the watchdog: a stalled connection fails within `timeoutMs`
 * with a retryable connection error, and the client is destroyed rather than reused.
 */
export async function withClientDeadline<T>(pool: pg.Pool, timeoutMs: number, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  const disarm = armClientWatchdog(client, timeoutMs);
  let failure: Error | undefined;
  try {
    return await work(client);
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    disarm();
    client.release(failure);
  }
}
