/**
 * Rules on how numbers are written in a message's JSON text, which the parsed value cannot
 * show. `JSON.parse` reads `2.0` and `2` as the same number, but Postgres keeps the text's
 * scale: staging's `jsonb_to_record` reads `2.0` into an integer column as an error, and every
 * later `dbt build` fails on that row. So the contract is about the text:
 * - integral fields (bounds.ts INTEGER_BOUNDS) are plain integers: no fraction, no exponent;
 * - money fields (bounds.ts MONEY_FIELDS) have at most 2 decimals and no exponent (`1e2`,
 *   `0.10000000000000001` parse to a valid double but are not what numeric(12,2) was promised).
 *
 * Sound only for a message the strict schema accepted: then every field is a top-level scalar
 * and a quote inside a string is escaped, so `"quantity"` followed by a colon can only be the
 * key itself, and the string before a number is its key. Checked on the hot path, so by
 * character codes in one pass, not a regex or a search per field.
 */
import { INTEGER_FIELDS, MONEY, MONEY_FIELDS } from './bounds.ts';

const INTEGRAL: ReadonlySet<string> = new Set(INTEGER_FIELDS);
const MONEY_SET: ReadonlySet<string> = new Set(MONEY_FIELDS);
const QUOTE = 34;
const BACKSLASH = 92;
const DOT = 46;
const MINUS = 45;
const isDigit = (c: number) => c >= 48 && c <= 57;
const isExponent = (c: number) => c === 101 || c === 69; // e, E

/** The quote that ends the string whose text starts at `from` (or the text's end); a native search, not a loop per character. */
function closingQuote(text: string, from: number): number {
  for (let at = text.indexOf('"', from); at >= 0; at = text.indexOf('"', at + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return at;
  }
  return text.length;
}

/** The number written at `start`, and what it has after its integer digits. */
function scanNumber(text: string, start: number): { written: string; decimals: number; exponent: boolean } {
  let i = start;
  if (text.charCodeAt(i) === MINUS) i += 1;
  while (isDigit(text.charCodeAt(i))) i += 1;
  let decimals = -1;
  if (text.charCodeAt(i) === DOT) {
    decimals = 0;
    i += 1;
    while (isDigit(text.charCodeAt(i))) {
      i += 1;
      decimals += 1;
    }
  }
  let exponent = false;
  if (isExponent(text.charCodeAt(i))) {
    exponent = true;
    i += 1;
    while (isDigit(text.charCodeAt(i)) || text.charCodeAt(i) === 43 || text.charCodeAt(i) === MINUS) i += 1;
  }
  return { written: text.slice(start, i), decimals, exponent };
}

/**
 * The first number in `text` (a message the strict schema accepted) written as the contract does
 * not allow, as the field, how it was written and what is wrong; or null. One pass over the
 * text: strings are skipped, and only a number with a fraction or an exponent (in practice the
 * money fields) needs its key looked at. Every occurrence counts, since a duplicated key is read
 * as its last one by JSON.parse and by jsonb alike.
 */
export function numberSpellingProblem(text: string): { field: string; written: string; problem: string } | null {
  let keyStart = 0;
  let keyEnd = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      keyStart = i + 1;
      i = closingQuote(text, i + 1);
      keyEnd = i;
    } else if (c === MINUS || isDigit(c)) {
      const n = scanNumber(text, i);
      i += n.written.length - 1;
      if (n.decimals < 0 && !n.exponent) continue;
      // In a flat object the string before a number is its key.
      let field = text.slice(keyStart, keyEnd);
      if (field.includes('\\')) field = JSON.parse(`"${field}"`) as string;
      if (INTEGRAL.has(field))
        return { field, written: n.written, problem: `written as ${n.written}: must be a plain integer (no fraction or exponent)` };
      if (MONEY_SET.has(field) && (n.decimals > MONEY.scale || n.exponent)) {
        return { field, written: n.written, problem: `written as ${n.written}: must have at most ${MONEY.scale} decimals and no exponent` };
      }
    }
  }
  return null;
}
