/** Routes kafkajs's own log lines into the component's pino logger. */
import { logLevel, type logCreator } from 'kafkajs';

import type { Logger } from '../logger.ts';

/** kafkajs logs routine group chatter at INFO; it goes to debug so ours stay readable. */
export function kafkajsLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      // kafkajs adds its own timestamp and logger name; pino has both already.
      const { message, timestamp: _timestamp, logger: _logger, ...context } = log;
      const fields = { kafkajs: namespace, ...context };
      if (level === logLevel.ERROR) logger.warn(fields, String(message));
      else if (level === logLevel.WARN) logger.warn(fields, String(message));
      else if (level === logLevel.INFO) logger.debug(fields, String(message));
      else logger.trace(fields, String(message));
    };
}
