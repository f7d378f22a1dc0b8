/** Structured logs (pino): a context object and a short message; errors serialised with their cause. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(component: string, level = 'info'): Logger {
  return pino({
    name: component,
    level,
    base: { component },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: pino.stdSerializers.errWithCause, error: pino.stdSerializers.errWithCause },
  });
}
