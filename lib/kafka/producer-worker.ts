/**
 * One producer thread of lib/kafka/producer-pool.ts: its own client connection, sending what the
 * pool hands it and answering each request by id. The pool keeps per-partition order; this
 * thread only sends.
 */
import { parentPort, workerData } from 'node:worker_threads';

import { createLogger } from '../logger.ts';
import { createEventProducer } from './producer.ts';
import { decodeMessages } from './message-buffer.ts';
import type { ToPool, ToWorker, WorkerSettings } from './producer-pool.ts';

const settings = workerData as WorkerSettings;
const port = parentPort!;
const reply = (message: ToPool) => port.postMessage(message);
const logger = createLogger(settings.component, settings.logLevel);

try {
  const producer = await createEventProducer({ brokers: settings.brokers, clientId: settings.clientId }, logger);
  port.on('message', (message: ToWorker) => {
    if (message.type === 'close') {
      void producer.disconnect().finally(() => {
        reply({ type: 'closed' });
        port.close();
      });
      return;
    }
    const { id, topic, partition } = message;
    const messages = decodeMessages(message.messages).map((m) => ({ key: m.key, value: m.value, partition }));
    producer
      .send(topic, messages)
      .then(() => reply({ type: 'sent', id }))
      .catch((error: unknown) => reply({ type: 'failed', id, message: (error as Error).message ?? String(error) }));
  });
  reply({ type: 'ready' });
} catch (error) {
  reply({ type: 'failed', id: 0, message: (error as Error).message ?? String(error) });
  port.close();
}
