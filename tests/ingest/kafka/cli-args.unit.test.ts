import { describe, expect, it } from 'vitest';

import { HELP, parseCli } from '../../../ingest/kafka/cli-args.ts';
import { UsageError } from '../../../lib/errors.ts';

describe('ingest:kafka flags', () => {
  it('parses every documented flag', () => {
    expect(parseCli(['--group', 'g', '--topic', 't.x', '--until-idle', '3000', '--batch-rows', '500', '--batch-ms', '50'])).toEqual({
      help: false,
      group: 'g',
      topic: 't.x',
      stopWhen: { mode: 'idle', idleMs: 3000 },
      batchRows: 500,
      batchMs: 50,
    });
    expect(parseCli(['--once']).stopWhen).toEqual({ mode: 'caught-up' });
    expect(parseCli([]).stopWhen).toEqual({ mode: 'never' });
  });

  it.each([
    [['--until-idle', 'soon'], '--until-idle must be a whole number'],
    [['--batch-rows', '0'], '--batch-rows must be a whole number'],
    [['--once', '--until-idle', '5'], 'cannot be combined'],
    [['--topic', 'bad topic'], 'not a valid Kafka topic name'],
    [['--nope'], "Unknown option '--nope'"],
  ])('rejects %j with a clear message', (argv, message) => {
    expect(() => parseCli(argv)).toThrow(UsageError);
    expect(() => parseCli(argv)).toThrow(message);
  });

  it('documents every flag and the environment it reads in --help', () => {
    for (const word of [
      '--group',
      '--topic',
      '--once',
      '--until-idle',
      '--batch-rows',
      '--batch-ms',
      'KAFKA_BROKERS',
      'INGEST_BATCH_ROWS',
      'SIGTERM',
    ]) {
      expect(HELP).toContain(word);
    }
  });
});
