/**
 * Node flags every launcher of the Kafka ingestor passes (`npm run ingest:kafka`, the scheduler,
 * the demo, the bench). V8 grows its old generation lazily when the machine has memory to
 * spare, so an ingestor whose live set is a batch in flight (bounded by INGEST_BATCH_ROWS and a
 * 32 MB pending limit) plus the client's fetch buffers (4 MB) sat at 350-450 MB of RSS under a
 * backlog. A 256 MB old generation keeps it near 230 MB (measured with the bench: 234 MB at
 * 32k events/s over 1M events), at the cost of more frequent collections. The live set is well
 * under the bound, so it does not run out.
 * package.json's `ingest:kafka` script repeats the flag (JSON cannot import it).
 */
export const KAFKA_INGESTOR_NODE_FLAGS: readonly string[] = ['--max-old-space-size=256'];
