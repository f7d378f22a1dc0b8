/**
 * pino's JSON lines made readable for a person at a terminal: time, level, component, message,
 * then the context as key=value. An error shows its message and cause; its stack only when the
 * level is debug or trace (LOG_LEVEL=debug). A small formatter of our own rather than
 * pino-pretty: no worker thread, no extra dependency, and lines stay one per record.
 */
const LEVELS: Record<number, { name: string; colour: string }> = {
  10: { name: 'TRACE', colour: '\x1b[2m' },
  20: { name: 'DEBUG', colour: '\x1b[2m' },
  30: { name: 'INFO ', colour: '\x1b[32m' },
  40: { name: 'WARN ', colour: '\x1b[33m' },
  50: { name: 'ERROR', colour: '\x1b[31m' },
  60: { name: 'FATAL', colour: '\x1b[41m' },
};
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'component']);
const MAX_VALUE = 160;

interface SerialisedError {
  message?: string;
  stack?: string;
  code?: string;
  cause?: SerialisedError;
}

function errorText(err: SerialisedError, withStack: boolean): string {
  const code = err.code ? ` [${err.code}]` : '';
  const cause = err.cause?.message && err.cause.message !== err.message ? ` (cause: ${err.cause.message.split('\n')[0]})` : '';
  const head = `${(err.message ?? '').split('\n')[0]}${code}${cause}`;
  return withStack && err.stack ? `${head}\n${err.stack}` : head;
}

function valueText(value: unknown): string {
  const text = typeof value === 'string' ? (/[\s="]/.test(value) ? JSON.stringify(value) : value) : JSON.stringify(value);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

/** One pino JSON record as one readable line (plus a stack below it at debug level). */
export function prettyLine(json: string, options: { colour: boolean; stacks: boolean }): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const level = LEVELS[Number(record.level)] ?? { name: String(record.level), colour: '' };
  const time = typeof record.time === 'string' ? record.time.slice(11, 19) : new Date(Number(record.time)).toISOString().slice(11, 19);
  const component = typeof record.component === 'string' ? record.component : typeof record.name === 'string' ? record.name : '';
  const parts: string[] = [];
  let stack = '';
  for (const [key, value] of Object.entries(record)) {
    if (HIDDEN.has(key) || value === undefined || value === null) continue;
    if ((key === 'err' || key === 'error') && typeof value === 'object') {
      const text = errorText(value as SerialisedError, options.stacks);
      const [head, ...rest] = text.split('\n');
      parts.push(`${key}=${JSON.stringify(head)}`);
      if (rest.length > 0) stack = `\n${rest.join('\n')}`;
      continue;
    }
    parts.push(`${key}=${valueText(value)}`);
  }
  const levelText = options.colour ? `${level.colour}${level.name}\x1b[0m` : level.name;
  const msg = typeof record.msg === 'string' ? record.msg : '';
  return `${time} ${levelText} ${component ? `${component}: ` : ''}${msg}${parts.length ? `  ${parts.join(' ')}` : ''}${stack}\n`;
}

/** A pino destination that writes readable lines to `out`. */
export function prettyDestination(out: NodeJS.WriteStream, options: { stacks: boolean }): { write(line: string): void } {
  const colour = out.isTTY === true;
  return { write: (line: string) => void out.write(prettyLine(line, { colour, stacks: options.stacks })) };
}
