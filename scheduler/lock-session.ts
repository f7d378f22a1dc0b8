/**
 * Postgres advisory locks on a dedicated connection (never a pooled one: session locks belong to
 * the connection, and a pool would hand it to someone else). The leader lock makes one scheduler
 * active at a time; per-job locks stop a `--once` run and the daemon running the same job together.
 * When the connection dies, Postgres releases every lock it held, which is what lets a standby take
 * over after the leader is killed; this side learns it through `lost`.
 */
import pg from 'pg';

import { ServiceUnavailableError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';

/** First key of the two-int advisory lock space; the second is 0 for the leader, else a job hash. */
export const LOCK_NAMESPACE = 727_100_065;
export const LEADER_LOCK_KEY = 0;

/** A stable 31-bit key per job name (FNV-1a), never 0 (the leader's). */
export function jobLockKey(job: string): number {
  let hash = 0x811c9dc5;
  for (const char of job) {
    hash ^= char.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 1 || 1;
}

export class LockSession {
  readonly #client: pg.Client;
  readonly #lostController = new AbortController();
  #closed = false;

  private constructor(client: pg.Client) {
    this.#client = client;
  }

  static async open(connectionString: string, applicationName: string, logger: Logger): Promise<LockSession> {
    const client = new pg.Client({ connectionString, application_name: applicationName, connectionTimeoutMillis: 10_000, keepAlive: true });
    const session = new LockSession(client);
    client.on('error', (err) => {
      logger.warn({ err }, 'lock connection error: advisory locks are lost');
      session.#markLost();
    });
    client.on('end', () => session.#markLost());
    try {
      await client.connect();
    } catch (error) {
      session.#markLost();
      throw new ServiceUnavailableError(`cannot open the scheduler's lock connection to Postgres: ${(error as Error).message}`, error);
    }
    return session;
  }

  /** Aborted when the connection (and with it every lock) is gone. */
  get lost(): AbortSignal {
    return this.#lostController.signal;
  }

  async tryLock(key: number): Promise<boolean> {
    const { rows } = await this.#client.query<{ locked: boolean }>('select pg_try_advisory_lock($1, $2) as locked', [LOCK_NAMESPACE, key]);
    return rows[0]!.locked;
  }

  async unlock(key: number): Promise<void> {
    if (this.lost.aborted) return;
    await this.#client.query('select pg_advisory_unlock($1, $2)', [LOCK_NAMESPACE, key]);
  }

  /** A round trip that fails if the connection is gone; the leader calls it as a heartbeat. */
  async ping(): Promise<void> {
    await this.#client.query('select 1');
  }

  /** The backend pid holding this session: tests terminate it to simulate a lost connection. */
  async backendPid(): Promise<number> {
    const { rows } = await this.#client.query<{ pid: number }>('select pg_backend_pid() as pid');
    return rows[0]!.pid;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#markLost();
    await this.#client.end().catch(() => undefined);
  }

  #markLost(): void {
    if (!this.#lostController.signal.aborted) this.#lostController.abort(new ServiceUnavailableError('scheduler lock connection lost'));
  }
}
