/**
 * The scheduler's notion of "now". Production uses database time (`select now()`), so several
 * scheduler hosts with drifting clocks agree on when 08:00 is; tests inject a compressed clock
 * so a day of schedule runs in seconds.
 */
import type pg from 'pg';

export interface Clock {
  /** Current time; cheap and synchronous (the database clock caches its skew). */
  now(): Date;
  /** Refresh from the source of truth, once per scheduler tick. */
  sync(): Promise<void>;
}

/** Database time: local monotonic time plus the skew measured by `select now()` at each sync. */
export class DatabaseClock implements Clock {
  #skewMs = 0;

  constructor(private readonly pool: pg.Pool) {}

  now(): Date {
    return new Date(Date.now() + this.#skewMs);
  }

  async sync(): Promise<void> {
    const sentAt = Date.now();
    const { rows } = await this.pool.query<{ now: Date }>('select now() as now');
    const receivedAt = Date.now();
    // The database read its clock somewhere in the round trip; the midpoint halves the error.
    this.#skewMs = rows[0]!.now.getTime() - (sentAt + receivedAt) / 2;
  }

  get skewMs(): number {
    return this.#skewMs;
  }
}

/**
 * Simulated time for tests: starts at `start` and runs `scale` times faster than the wall clock
 * (scale 60 turns a minute into a second). `advance()` jumps ahead.
 */
export class CompressedClock implements Clock {
  #origin: number;
  #realOrigin = Date.now();

  constructor(
    start: Date,
    readonly scale = 1,
  ) {
    this.#origin = start.getTime();
  }

  now(): Date {
    return new Date(this.#origin + (Date.now() - this.#realOrigin) * this.scale);
  }

  async sync(): Promise<void> {}

  /** Move simulated time forward by `ms` simulated milliseconds. */
  advance(ms: number): void {
    this.#origin += ms;
  }

  /** Real milliseconds that `simulatedMs` of this clock take. */
  realMs(simulatedMs: number): number {
    return simulatedMs / this.scale;
  }
}
