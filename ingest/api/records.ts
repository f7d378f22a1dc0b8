/**
 * One API page, checked: the body must be a JSON object with the records array under
 * `recordsField`; each record is validated with a zod schema built from the source's columns
 * and turned into the canonical values raw keeps (as the file ingestor does: numbers as exact
 * strings, booleans as booleans, instants as the API wrote them). A record that fails is a bad
 * record with the exact bytes the API sent for it, found by scanning the body for the array's
 * element boundaries, so a dead letter shows what came over the wire, not a re-serialisation.
 */
import { createHash } from 'node:crypto';

import { z } from 'zod';

import type { ApiColumn, ApiColumnType, ApiSource } from './source-config.ts';

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?\d+(\.\d+)?$/;

function fieldSchema(type: ApiColumnType): z.ZodType<string | boolean> {
  switch (type) {
    case 'text':
      // Postgres text (and jsonb strings) cannot hold U+0000.
      return z.string().refine((s) => !s.includes('\u0000'), 'holds a NUL character, which Postgres cannot store');
    case 'integer':
      return z
        .union(
          [
            z.number().int().refine(Number.isSafeInteger, 'is beyond the exact range of a JSON number'),
            z.string().regex(INTEGER, 'is not a whole number'),
          ],
          {
            error: 'is not a whole number',
          },
        )
        .transform((v) => String(v).replace(/^\+/, ''));
    case 'numeric':
      return z
        .union([z.number(), z.string().regex(DECIMAL, 'is not a number')], { error: 'is not a number' })
        .transform((v) => String(v).replace(/^\+/, ''));
    case 'boolean':
      return z.boolean({ error: 'is not a JSON boolean' });
    case 'date':
      return z.iso.date({ error: 'is not a date (YYYY-MM-DD)' });
    case 'timestamp':
      return z.iso.datetime({ offset: true, error: 'is not an ISO 8601 instant with a time zone (Z or +hh:mm)' });
  }
}

export type CanonicalRecord = Record<string, string | boolean | null>;

/** The zod schema of one record: declared columns by their JSON key; other keys are ignored. */
export function recordSchema(source: ApiSource): z.ZodType<CanonicalRecord> {
  const shape: Record<string, z.ZodType> = {};
  const required = (c: ApiColumn) => !c.nullable || source.keys.includes(c.name) || c.name === source.updatedAt;
  for (const column of source.columns) {
    const schema = fieldSchema(column.type);
    shape[column.field ?? column.name] = required(column) ? schema : schema.nullish();
  }
  return z.looseObject(shape).transform((object) => {
    const out: CanonicalRecord = {};
    for (const column of source.columns) out[column.name] = (object[column.field ?? column.name] ?? null) as string | boolean | null;
    return out;
  });
}

export interface ByteSpan {
  start: number;
  end: number;
}

const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/**
 * Byte spans of the elements of the array under the top-level key `field` of a JSON object
 * body, or null when there is no such array. Assumes the body already parsed as JSON (so it
 * only tracks strings, escapes and nesting); UTF-8 continuation bytes never look like ASCII.
 */
export function arrayElementSpans(body: Buffer, field: string): ByteSpan[] | null {
  let depth = 0;
  let inString = false;
  let escaped = false;
  let stringStart = -1;
  let lastString: string | null = null;
  let expectValueOf: string | null = null;
  let collecting = false;
  let elementStart = -1;
  const spans: ByteSpan[] = [];
  const closeElement = (end: number) => {
    if (elementStart === -1) return;
    let e = end;
    while (e > elementStart && isSpace(body[e - 1]!)) e--;
    spans.push({ start: elementStart, end: e });
    elementStart = -1;
  };
  for (let i = 0; i < body.length; i++) {
    const b = body[i]!;
    if (inString) {
      if (escaped) escaped = false;
      else if (b === 0x5c) escaped = true;
      else if (b === 0x22) {
        inString = false;
        if (depth === 1 && !collecting) lastString = JSON.parse(body.subarray(stringStart, i + 1).toString('utf8')) as string;
      }
      continue;
    }
    if (collecting && depth === 2 && elementStart === -1 && !isSpace(b) && b !== 0x2c && b !== 0x5d) elementStart = i;
    if (b === 0x22) {
      inString = true;
      stringStart = i;
    } else if (b === 0x3a && depth === 1) {
      expectValueOf = lastString;
    } else if (b === 0x7b || b === 0x5b) {
      if (depth === 1 && b === 0x5b && expectValueOf === field) collecting = true;
      depth++;
    } else if (b === 0x7d || b === 0x5d) {
      depth--;
      if (collecting && depth === 1) {
        closeElement(i);
        return spans;
      }
    } else if (b === 0x2c) {
      if (collecting && depth === 2) closeElement(i);
      if (depth === 1) expectValueOf = null;
    }
  }
  return null;
}

export interface GoodRecord {
  /** Position in the page's records array. */
  index: number;
  key: string;
  updatedAt: string;
  updatedAtMs: number;
  record: CanonicalRecord;
  sha256: string;
}

export interface BadRecord {
  index: number;
  reason: string;
  bytes: Buffer;
  /** The record's key and updated-at when they could be read, for the dead letter's details. */
  key: unknown;
}

export interface CheckedPage {
  good: GoodRecord[];
  bad: BadRecord[];
  /** Elements in the records array, good and bad: what an offset page advances by. */
  count: number;
  /** The parsed body, for the paging fields (next cursor). */
  body: Record<string, unknown>;
  /** Each element's updated-at (ms) in page order, NaN where a bad record has none: offset paging counts ties with it. */
  instants: number[];
}

/** Null when the body is not a JSON object with the records array: the caller retries (it was likely cut short). */
export function checkPage(source: ApiSource, schema: z.ZodType<CanonicalRecord>, bytes: Buffer): CheckedPage | { problem: string } {
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    return { problem: `the body is not JSON (${(error as Error).message}; ${bytes.length} bytes)` };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { problem: 'the body is not a JSON object' };
  const records = (body as Record<string, unknown>)[source.recordsField];
  if (!Array.isArray(records)) return { problem: `the body has no array "${source.recordsField}"` };
  const spans = arrayElementSpans(bytes, source.recordsField);
  if (spans === null || spans.length !== records.length)
    return { problem: `the records array could not be delimited (${spans?.length ?? 'no'} spans for ${records.length} records)` };
  const good: GoodRecord[] = [];
  const bad: BadRecord[] = [];
  const instants: number[] = [];
  const updatedAtField = source.columns.find((c) => c.name === source.updatedAt)!;
  records.forEach((element, index) => {
    const checked = schema.safeParse(element);
    const recordBytes = bytes.subarray(spans[index]!.start, spans[index]!.end);
    if (!checked.success) {
      const reason = checked.error.issues
        .map((issue) => `${issue.path.length ? issue.path.join('.') : '(record)'} ${issue.message.replace(/^Invalid input: /, '')}`)
        .join('; ');
      const keyOf = (element as Record<string, unknown> | null)?.[source.keys[0]!];
      bad.push({ index, reason, bytes: Buffer.from(recordBytes), key: keyOf ?? null });
      const served = (element as Record<string, unknown> | null)?.[updatedAtField.field ?? updatedAtField.name];
      instants.push(typeof served === 'string' ? Date.parse(served) : NaN);
      return;
    }
    const record = checked.data;
    const updatedAt = record[source.updatedAt] as string;
    const text = JSON.stringify(record);
    instants.push(Date.parse(updatedAt));
    good.push({
      index,
      key: JSON.stringify(source.keys.map((k) => record[k])),
      updatedAt,
      updatedAtMs: Date.parse(updatedAt),
      record,
      sha256: createHash('sha256').update(text).digest('hex'),
    });
  });
  return { good, bad, count: records.length, body: body as Record<string, unknown>, instants };
}
