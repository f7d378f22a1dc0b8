/** EventProducer on kafkajs (with patches/kafkajs+2.2.4.patch for pre-encoded record batches). */
import { CompressionTypes, Kafka, logLevel, Partitioners, type Message, type Producer } from 'kafkajs';

import type { Logger } from '../logger.ts';
import { kafkajsLogCreator } from './kafkajs-log.ts';
import type { EventProducer, EventProducerOptions } from './sink.ts';

export async function createKafkajsProducer(options: EventProducerOptions, logger: Logger): Promise<EventProducer> {
  const idempotent = options.idempotent ?? false;
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    logLevel: logLevel.WARN,
    logCreator: kafkajsLogCreator(logger),
    retry: { initialRetryTime: 300, maxRetryTime: 10_000, retries: 10 },
  });
  const producer: Producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    idempotent,
    maxInFlightRequests: idempotent ? 1 : 5,
  });
  await producer.connect();
  const compression = options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  return {
    async send(topic, messages) {
      await producer.send({
        topic,
        acks: -1,
        compression,
        messages: messages.map((m) => ({
          key: m.key,
          value: m.value,
          ...(m.timestampMs === undefined ? {} : { timestamp: String(m.timestampMs) }),
          ...(m.partition === undefined ? {} : { partition: m.partition }),
        })),
      });
    },
    async sendRecords(topic, partition, records) {
      if (idempotent)
        throw new Error('pre-encoded records carry no producer sequence numbers; send them with a producer that is not idempotent');
      // The patched client (patches/kafkajs+2.2.4.patch) takes a partition's single message
      // carrying `encodedRecords` as the record batch's body.
      const carrier = { value: null, partition, encodedRecords: records } as Message;
      await producer.send({ topic, acks: -1, messages: [carrier] });
    },
    async disconnect() {
      await producer.disconnect();
    },
  };
}
