/**
 * Which kafkajs failures a consumer is started again after: the cluster being away or still
 * loading, however deep kafkajs wrapped it; never anything else (a handler's own error, bad
 * credentials, a missing topic).
 */
import * as kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';

import { isKafkaInfrastructureError } from '../../../lib/kafka/kafkajs-source.ts';

// kafkajs exports more error classes, with other constructors, than its typings declare.
type ErrorClass = new (e: unknown, extra?: Record<string, unknown>) => Error;
const k = kafkajs as unknown as Record<string, ErrorClass>;

describe('isKafkaInfrastructureError', () => {
  it('is true for a missing group coordinator, wrapped the way kafkajs wraps it after its retries', () => {
    const cause = new k.KafkaJSGroupCoordinatorNotFound!('Failed to find group coordinator');
    // What kafkajs's retrier rejects with once a non-retriable error reaches it.
    const wrapped = new k.KafkaJSNonRetriableError!(cause, { cause });
    expect(isKafkaInfrastructureError(wrapped)).toBe(true);
    expect(isKafkaInfrastructureError(new k.KafkaJSNumberOfRetriesExceeded!(wrapped, { retryCount: 8, retryTime: 10_000 }))).toBe(true);
  });

  it('is true for refused and closed connections and for metadata not loaded yet', () => {
    expect(isKafkaInfrastructureError(new k.KafkaJSConnectionError!('Connection error: connect ECONNREFUSED'))).toBe(true);
    expect(isKafkaInfrastructureError(new k.KafkaJSConnectionClosedError!('Closed connection'))).toBe(true);
    expect(isKafkaInfrastructureError(new k.KafkaJSMetadataNotLoaded!('Cluster metadata not loaded'))).toBe(true);
  });

  it('is false for the handler’s own errors and for failures a retry cannot fix', () => {
    expect(isKafkaInfrastructureError(new Error('warehouse rejected the batch'))).toBe(false);
    expect(
      isKafkaInfrastructureError(new k.KafkaJSNonRetriableError!(new Error('a data error'), { cause: new Error('a data error') })),
    ).toBe(false);
    expect(isKafkaInfrastructureError(new k.KafkaJSSASLAuthenticationError!('SASL PLAIN authentication failed'))).toBe(false);
    expect(isKafkaInfrastructureError('not an error')).toBe(false);
  });
});
