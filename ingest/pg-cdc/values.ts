/**
 * A Postgres value's text (COPY TO and pgoutput print the same text under SESSION_SETTINGS) in
 * the change log's JSON value format (ingest/cdc/values.ts): integers as numbers (past 2^53 as
 * exact strings), numeric as its exact text, floats as numbers, booleans as 1 and 0 (as MariaDB's TINYINT(1)), dates as
 * 'YYYY-MM-DD', timestamps as ISO-8601 UTC with milliseconds and Z (six digits when the source
 * keeps microseconds), bytea as base64, everything else as its text. A value with no such form
 * (NaN, infinity, a BC date) stays its text: the typed encoder then sends it to `_unmapped`, so
 * nothing is lost or altered.
 *
 * The snapshot and the stream both go through this one converter, so a row read by either path
 * gives the same image.
 */
import type { ValueKind } from './type-map.ts';

const TIMESTAMP = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?([+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?$/;
const INTEGER = /^-?\d+$/;

function fraction(digits: string | undefined): string {
  const text = digits ?? '';
  return text.length <= 3 ? text.padEnd(3, '0') : text.padEnd(6, '0');
}

/** Seconds east of UTC in an offset such as '+00', '-05:30', '+0530'. */
function offsetSeconds(offset: string): number {
  const sign = offset.startsWith('-') ? -1 : 1;
  const digits = offset.slice(1).replaceAll(':', '');
  return sign * (Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2, 4) || 0) * 60 + Number(digits.slice(4, 6) || 0));
}

function timestampValue(text: string, withZone: boolean): string {
  const m = TIMESTAMP.exec(text);
  if (!m || (withZone && !m[4]) || (!withZone && m[4])) return text;
  const frac = fraction(m[3]);
  if (!m[4] || offsetSeconds(m[4]) === 0) return `${m[1]}T${m[2]}.${frac}Z`;
  // A session in another time zone (the settings were not applied): normalise to UTC.
  const utcMs = Date.parse(`${m[1]}T${m[2]}Z`) - offsetSeconds(m[4]) * 1000;
  if (!Number.isFinite(utcMs)) return text;
  const iso = new Date(utcMs).toISOString();
  if (!iso.startsWith('+') && !iso.startsWith('-') && iso.length === 24) return `${iso.slice(0, 19)}.${frac}Z`;
  return text;
}

export function pgValue(text: string | null, kind: ValueKind): unknown {
  if (text === null) return null;
  switch (kind) {
    case 'integer': {
      if (!INTEGER.test(text)) return text;
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : text;
    }
    case 'float': {
      const n = Number(text);
      return Number.isFinite(n) ? n : text;
    }
    case 'boolean':
      return text === 't' ? 1 : text === 'f' ? 0 : text;
    case 'date':
      // 'infinity' and BC dates stay text too: the typed encoder's check sends them to _unmapped.
      return text;
    case 'timestamp':
      return timestampValue(text, false);
    case 'timestamptz':
      return timestampValue(text, true);
    case 'bytea':
      return text.startsWith('\\x') ? Buffer.from(text.slice(2), 'hex').toString('base64') : text;
    default:
      return text;
  }
}

/**
 * One line of COPY TO text format (without its newline) as field texts, null for \N: the
 * escapes COPY TO writes (backslash, \b \f \n \r \t \v, and octal or hex) undone.
 */
export function splitCopyLine(line: string): (string | null)[] {
  const fields: (string | null)[] = [];
  for (const raw of line.split('\t')) {
    if (raw === '\\N') {
      fields.push(null);
      continue;
    }
    if (!raw.includes('\\')) {
      fields.push(raw);
      continue;
    }
    let out = '';
    for (let i = 0; i < raw.length; i++) {
      const ch = raw[i]!;
      if (ch !== '\\' || i === raw.length - 1) {
        out += ch;
        continue;
      }
      const next = raw[++i]!;
      if (next === 'b') out += '\b';
      else if (next === 'f') out += '\f';
      else if (next === 'n') out += '\n';
      else if (next === 'r') out += '\r';
      else if (next === 't') out += '\t';
      else if (next === 'v') out += '\v';
      else if (next >= '0' && next <= '7') {
        let digits = next;
        while (digits.length < 3 && raw[i + 1] !== undefined && raw[i + 1]! >= '0' && raw[i + 1]! <= '7') digits += raw[++i];
        out += String.fromCharCode(parseInt(digits, 8));
      } else if (next === 'x' && /[0-9a-fA-F]/.test(raw[i + 1] ?? '')) {
        let digits = '';
        while (digits.length < 2 && /[0-9a-fA-F]/.test(raw[i + 1] ?? '')) digits += raw[++i];
        out += String.fromCharCode(parseInt(digits, 16));
      } else out += next;
    }
    fields.push(out);
  }
  return fields;
}
