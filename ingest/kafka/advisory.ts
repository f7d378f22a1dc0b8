/**
 * Copies committed positions into Kafka's own group offsets, for tools such as
 * kafka-consumer-groups. Advisory only: never awaited by a flush, one request at a time (later
 * positions simply wait for the next round), and failures are harmless because the warehouse
 * holds the real positions.
 */
import type { RecordSource } from '../../lib/kafka/source.ts';
import type { Logger } from '../../lib/logger.ts';

export class AdvisoryOffsets {
  readonly #positions = new Map<number, bigint>();
  #pending = false;

  constructor(
    private readonly source: RecordSource,
    private readonly topic: string,
    private readonly logger: Logger,
  ) {}

  note(partition: number, nextOffset: bigint): void {
    this.#positions.set(partition, nextOffset);
  }

  send(): void {
    if (this.#pending || this.#positions.size === 0) return;
    const positions = [...this.#positions].map(([partition, offset]) => ({ topic: this.topic, partition, offset }));
    this.#positions.clear();
    this.#pending = true;
    this.source
      .commitAdvisory(positions)
      .catch((err: unknown) =>
        this.logger.debug({ err }, 'advisory Kafka offset commit failed (harmless: the warehouse holds the positions)'),
      )
      .finally(() => {
        this.#pending = false;
      });
  }
}
