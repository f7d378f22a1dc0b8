/**
 * Structured logs (pino): a context object and a short message; errors serialised with their
 * cause. On a terminal the lines are made readable (lib/log-pretty.ts); piped, or with
 * LOG_FORMAT=json, they stay JSON lines for a machine.
 */
import { pino, type Logger } from 'pino';

import { prettyDestination } from './log-pretty.ts';

export type { Logger };

export type LogFormat = 'auto' | 'json' | 'pretty';

export interface LogSettings {
  LOG_LEVEL: string;
  LOG_FORMAT?: LogFormat;
}

/** Whether records are written as readable lines: forced by LOG_FORMAT, else only on a terminal. */
export function wantsPretty(format: LogFormat, stream: { isTTY?: boolean } = process.stdout): boolean {
  return format === 'pretty' || (format === 'auto' && stream.isTTY === true);
}

/** `settings` is the Config (LOG_LEVEL and LOG_FORMAT) or just a level (format auto). */
export function createLogger(component: string, settings: string | LogSettings = 'info'): Logger {
  const level = typeof settings === 'string' ? settings : settings.LOG_LEVEL;
  const format = typeof settings === 'string' ? 'auto' : (settings.LOG_FORMAT ?? 'auto');
  const options = {
    name: component,
    level,
    base: { component },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: pino.stdSerializers.errWithCause, error: pino.stdSerializers.errWithCause },
  };
  if (!wantsPretty(format)) return pino(options);
  return pino(options, prettyDestination(process.stdout, { stacks: level === 'debug' || level === 'trace' }));
}
