/**
 * Fast UTC timestamp formatting for the hot paths (every event and row carries timestamps).
 * The date part is cached per day; the time part is plain arithmetic.
 */
import { flat } from './flat.ts';

const DAY_MS = 86_400_000;
let cachedDay = Number.NaN;
let cachedDate = '';

function datePart(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedDate = new Date(day * DAY_MS).toISOString().slice(0, 10);
  }
  return cachedDate;
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

function timePart(ms: number): string {
  let rest = ms - Math.floor(ms / DAY_MS) * DAY_MS;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  return `${pad2(h)}:${pad2(m)}:${pad2(s)}.${pad3(Math.floor(rest - s * 1000))}`;
}

/** ISO-8601 with milliseconds and Z, identical to Date#toISOString for whole-millisecond times. */
export function isoTime(ms: number): string {
  return `${datePart(ms)}T${timePart(ms)}Z`;
}

/** MariaDB DATETIME(3) literal, UTC. */
export function sqlTime(ms: number): string {
  return flat(`${datePart(ms)} ${timePart(ms)}`);
}
