/** Flag parsing for `npm run ingest:kafka`, kept apart from the entry so it can be tested. */
import { parseArgs } from 'node:util';

import { UsageError } from '../../lib/errors.ts';
import type { StopWhen } from './ingestor.ts';

export const HELP = `Usage: npm run ingest:kafka -- [flags]

Consumes the clickstream topic as a consumer-group member, validates every message against the
shared event schema, and lands events in raw.shop_events (rejects in raw.dead_letters) with
COPY; each batch and its offsets commit in one Postgres transaction (exactly once).

Flags:
  --group NAME         consumer group (default: KAFKA_GROUP_ID)
  --topic NAME         topic to consume (default: KAFKA_TOPIC)
  --once               load what the topic holds at start, then exit 0
  --until-idle MS      run until no message arrived for MS ms and the group is caught up, then exit 0
  --batch-rows N       flush after N records (default: INGEST_BATCH_ROWS)
  --batch-ms MS        flush records produced more than MS ms ago (default: INGEST_BATCH_MAX_MS)
  -h, --help           show this help

Without --once/--until-idle it runs until SIGTERM/SIGINT: the first signal finishes and commits
the batch in flight and exits 0; a second signal exits at once (nothing committed is lost; what
was not committed is read again on the next start).

Environment: WAREHOUSE_URL, WAREHOUSE_INGEST_PASSWORD, KAFKA_BROKERS, KAFKA_TOPIC, KAFKA_PARTITIONS,
KAFKA_GROUP_ID, KAFKA_CLIENT_ID, KAFKA_SESSION_TIMEOUT_MS, INGEST_BATCH_ROWS, INGEST_BATCH_MAX_MS,
INGEST_GIVE_UP_MS (exit 69 when Kafka does not answer for this long at start), LOG_LEVEL (see .env.example and docs/kafka-ingestor.md).
`;

export interface CliOptions {
  help: boolean;
  group?: string;
  topic?: string;
  stopWhen: StopWhen;
  batchRows?: number;
  batchMs?: number;
}

export function parseCli(argv: string[]): CliOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        group: { type: 'string' },
        topic: { type: 'string' },
        once: { type: 'boolean' },
        'until-idle': { type: 'string' },
        'batch-rows': { type: 'string' },
        'batch-ms': { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nRun with --help for the list of flags.`);
  }
  if (values.once && values['until-idle'] !== undefined)
    throw new UsageError('--once and --until-idle cannot be combined: pick one way to stop');
  const stopWhen: StopWhen = values.once
    ? { mode: 'caught-up' }
    : values['until-idle'] !== undefined
      ? { mode: 'idle', idleMs: positiveInt('--until-idle', values['until-idle'], 600_000) }
      : { mode: 'never' };
  if (values.group !== undefined && values.group.trim() === '') throw new UsageError('--group needs a non-empty name');
  if (values.topic !== undefined && !/^[a-zA-Z0-9._-]{1,249}$/.test(values.topic))
    throw new UsageError(`--topic ${JSON.stringify(values.topic)} is not a valid Kafka topic name`);
  return {
    help: values.help ?? false,
    ...(values.group === undefined ? {} : { group: values.group }),
    ...(values.topic === undefined ? {} : { topic: values.topic }),
    stopWhen,
    ...(values['batch-rows'] === undefined ? {} : { batchRows: positiveInt('--batch-rows', values['batch-rows'], 1_000_000) }),
    ...(values['batch-ms'] === undefined ? {} : { batchMs: positiveInt('--batch-ms', values['batch-ms'], 600_000) }),
  };
}

function positiveInt(flag: string, raw: string, max: number): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new UsageError(`${flag} must be a whole number from 1 to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}
