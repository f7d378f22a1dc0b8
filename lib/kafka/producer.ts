/**
 * A small producer behind the same kind of seam as the consumer (sink.ts's EventProducer):
 * sample data for tests and benchmarks, the generator, and anything else that writes events,
 * without depending on the client library directly. The client is kafkajs; another one is a
 * new adapter file in this folder and the line below.
 */
export { createKafkajsProducer as createEventProducer } from './kafkajs-producer.ts';
export type { EventProducer, EventProducerOptions, OutgoingMessage } from './sink.ts';
export { createTransactionalProducer } from './kafkajs-transactional.ts';
export type {
  OpenTransaction,
  TransactionalMessage,
  TransactionalProducer,
  TransactionalProducerOptions,
} from './kafkajs-transactional.ts';
