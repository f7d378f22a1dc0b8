/**
 * A seeded random OLTP workload for the fault tests: multi-row inserts, updates, deletes and
 * "transfer" transactions that change two accounts and write one ledger row atomically (the
 * unit whose half-visibility the tests look for).
 */
import type mysql from 'mysql2/promise';

export const WORKLOAD_DDL = `
CREATE TABLE accounts (
  account_id  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  owner       VARCHAR(60) NOT NULL,
  balance     DECIMAL(12,2) NOT NULL,
  opened_on   DATE NOT NULL,
  updated_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE ledger (
  entry_id    BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  from_id     BIGINT UNSIGNED NOT NULL,
  to_id       BIGINT UNSIGNED NOT NULL,
  amount      DECIMAL(12,2) NOT NULL,
  booked_at   DATETIME(3) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;`;

/** Rows changed by one transfer transaction: two account updates and one ledger insert. */
export const TRANSFER_ROWS = 3;

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Workload {
  readonly #live: number[] = [];
  readonly #random: () => number;
  #running = false;
  #loop: Promise<void> | null = null;
  operations = 0;

  constructor(
    private readonly db: mysql.Connection,
    seed: number,
  ) {
    this.#random = mulberry32(seed);
  }

  #int(max: number): number {
    return Math.floor(this.#random() * max);
  }

  #pick(): number {
    return this.#live[this.#int(this.#live.length)]!;
  }

  async insertAccounts(count: number): Promise<void> {
    const values: string[] = [];
    for (let i = 0; i < count; i++) {
      values.push(
        `('owner ${this.#int(1e6)} "q" \\\\ ü', ${(this.#int(1_000_000) / 100).toFixed(2)}, '20${10 + this.#int(15)}-0${1 + this.#int(9)}-1${this.#int(9)}')`,
      );
    }
    const [result] = await this.db.query(`INSERT INTO accounts (owner, balance, opened_on) VALUES ${values.join(',')}`);
    const first = (result as { insertId: number }).insertId;
    for (let i = 0; i < count; i++) this.#live.push(first + i);
  }

  async step(): Promise<void> {
    const roll = this.#random();
    this.operations++;
    if (roll < 0.25 || this.#live.length < 10) {
      await this.insertAccounts(1 + this.#int(20));
    } else if (roll < 0.5) {
      const ids = Array.from({ length: 1 + this.#int(10) }, () => this.#pick());
      await this.db.query(
        `UPDATE accounts SET balance = balance + ${(this.#int(10_000) / 100 - 50).toFixed(2)} WHERE account_id IN (${ids.join(',')})`,
      );
    } else if (roll < 0.62) {
      const victims = new Set(Array.from({ length: 1 + this.#int(5) }, () => this.#int(this.#live.length)));
      const ids = [...victims].map((i) => this.#live[i]!);
      for (const index of [...victims].sort((a, b) => b - a)) this.#live.splice(index, 1);
      await this.db.query(`DELETE FROM accounts WHERE account_id IN (${ids.join(',')})`);
    } else {
      const from = this.#pick();
      let to = this.#pick();
      while (to === from) to = this.#pick();
      const amount = (1 + this.#int(50_000) / 100).toFixed(2);
      await this.db.query(`START TRANSACTION;
        UPDATE accounts SET balance = balance - ${amount} WHERE account_id = ${from};
        UPDATE accounts SET balance = balance + ${amount} WHERE account_id = ${to};
        INSERT INTO ledger (from_id, to_id, amount, booked_at) VALUES (${from}, ${to}, ${amount}, UTC_TIMESTAMP(3));
        COMMIT`);
    }
  }

  start(pauseMs = 2): void {
    this.#running = true;
    this.#loop = (async () => {
      while (this.#running) {
        await this.step();
        if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    })();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }
}
