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
 * and a quote inside a string is escaped, so `"quantity":` can only be the key itself.
 */
import { INTEGER_FIELDS, MONEY, MONEY_FIELDS } from './bounds.ts';

const INTEGRAL_WITH_FRACTION = new RegExp(`"(${INTEGER_FIELDS.join('|')})"\\s*:\\s*(-?\\d+[.eE][-+.\\deE]*)`);
const MONEY_TOO_PRECISE = new RegExp(`"(${MONEY_FIELDS.join('|')})"\\s*:\\s*(-?\\d+(?:\\.\\d{${MONEY.scale + 1},}|\\.?\\d*[eE])[-+\\deE]*)`);

/** A sentence naming the field and its written value, or null when the numbers are written as the contract says. */
export function numberSpellingProblem(text: string): { field: string; written: string; problem: string } | null {
  const integral = INTEGRAL_WITH_FRACTION.exec(text);
  if (integral) return { field: integral[1]!, written: integral[2]!, problem: `written as ${integral[2]!}: must be a plain integer (no fraction or exponent)` };
  const money = MONEY_TOO_PRECISE.exec(text);
  if (money) return { field: money[1]!, written: money[2]!, problem: `written as ${money[2]!}: must have at most ${MONEY.scale} decimals and no exponent` };
  return null;
}
