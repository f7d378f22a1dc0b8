/**
 * Turns one Kafka record into either a COPY line for raw.shop_events or a dead letter with a
 * stable error code and a reason naming the field and what was wrong. Pure and synchronous.
 * This is the reference: the ingestor asks fast-line.ts first, which takes plainly written valid
 * events straight from their bytes and writes the same line this does, and comes here for the rest.
 */
import { isUtf8 } from 'node:buffer';

import type { z } from 'zod';

import { EVENT_TIME_END_MS, EVENT_TIME_MIN_MS, MAX_EVENT_BYTES } from '../../lib/events/bounds.ts';
import { EVENT_BODY_COLUMNS } from '../../lib/events/columns.ts';
import { acceptsShopEvent } from '../../lib/events/fast-accept.ts';
import { shopEvent, type ShopEvent } from '../../lib/events/schema.ts';
import { numberSpellingProblem } from '../../lib/events/wire.ts';
import type { SourceMessage } from '../../lib/kafka/source.ts';
import { copyLine, copyNullable, copyText, COPY_NULL } from '../shared/copy-text.ts';

export const DEAD_LETTER_CODES = [
  'empty_message',
  'oversized',
  'oversized_key',
  'invalid_key',
  'invalid_timestamp',
  'invalid_encoding',
  'invalid_json',
  'schema_violation',
  'unsupported_json',
  'warehouse_rejected',
] as const;
export type DeadLetterCode = (typeof DEAD_LETTER_CODES)[number];

export interface DeadLetter {
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  code: DeadLetterCode;
  reason: string;
  details: Record<string, unknown>;
}

/**
 * An admitted event as its COPY line (typed columns), or a dead letter. The message's bytes are
 * kept beside the line by the caller (admit.ts), so a row Postgres still refuses can be
 * dead-lettered exactly.
 */
export type Decoded = { ok: true; line: string } | { ok: false; deadLetter: DeadLetter };

export interface DecodeLimits {
  /** Longest message key accepted, in bytes (KAFKA_MAX_KEY_BYTES); longer ones are dead-lettered as `oversized_key`. */
  maxKeyBytes: number;
}

export const DEFAULT_MAX_KEY_BYTES = 1024;
const DEFAULT_LIMITS: DecodeLimits = { maxKeyBytes: DEFAULT_MAX_KEY_BYTES };

/** Kafka's "no timestamp" (records of message format v0, some proxies): lands with a null kafka_timestamp. */
export const KAFKA_NO_TIMESTAMP = -1;

const BODY_FIELDS: readonly string[] = EVENT_BODY_COLUMNS.map((c) => c.name);

/**
 * Column order of the lines `decodeMessage` produces: the Kafka envelope, the three fields every
 * reader selects by, the rest of the event typed (lib/events/columns.ts), the record timestamp.
 * raw.shop_events.payload is not among them: it holds JSON only for rows other writers land.
 */
export const EVENT_COLUMNS: readonly string[] = [
  'topic',
  'kafka_partition',
  'kafka_offset',
  'message_key',
  'event_id',
  'event_type',
  'event_time',
  ...BODY_FIELDS,
  'kafka_timestamp',
];

/** Index of the key field in an event line, to rebuild a rejected message's key. */
export const KEY_FIELD = 3;
/** Index of the Kafka timestamp, the last field. */
export const KAFKA_TIMESTAMP_FIELD = EVENT_COLUMNS.length - 1;

export function decodeMessage(topic: string, partition: number, message: SourceMessage, limits: DecodeLimits = DEFAULT_LIMITS): Decoded {
  const { value, key } = message;
  // The key lands as text in raw.shop_events.message_key: it must be UTF-8 without NUL, or
  // storing it would alter it (the dead letter keeps its exact bytes instead).
  if (key !== null) {
    if (key.length > limits.maxKeyBytes) {
      return rejected(
        message,
        'oversized_key',
        `message key is ${key.length} bytes, more than the ${limits.maxKeyBytes}-byte limit (KAFKA_MAX_KEY_BYTES); the key should be the session_id`,
        {
          key_bytes: key.length,
          limit: limits.maxKeyBytes,
        },
      );
    }
    if (!isUtf8(key))
      return rejected(
        message,
        'invalid_key',
        'message key is not valid UTF-8 (kept exactly in message_key); the key should be the session_id',
      );
    if (key.includes(0))
      return rejected(
        message,
        'invalid_key',
        'message key contains a NUL byte, which Postgres text cannot store (kept exactly in message_key)',
      );
  }
  const timestampProblem = kafkaTimestampProblem(message.timestampMs);
  if (timestampProblem !== null) return rejected(message, 'invalid_timestamp', timestampProblem);
  if (value === null) return rejected(message, 'empty_message', 'message has no value (a tombstone or an empty produce)');
  if (value.length > MAX_EVENT_BYTES) {
    return rejected(
      message,
      'oversized',
      `message is ${value.length} bytes, more than the ${MAX_EVENT_BYTES}-byte limit (MAX_EVENT_BYTES)`,
      { bytes: value.length, limit: MAX_EVENT_BYTES },
    );
  }
  if (!isUtf8(value)) return rejected(message, 'invalid_encoding', 'message value is not valid UTF-8');
  const text = value.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return rejected(message, 'invalid_json', `value is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return rejected(
      message,
      'schema_violation',
      `value must be a JSON object, got ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : typeof parsed}`,
    );
  }
  // The quick check says yes to what the schema certainly accepts; zod decides the rest and
  // names what is wrong (lib/events/fast-accept.ts).
  let event = parsed as ShopEvent;
  if (!acceptsShopEvent(parsed as Record<string, unknown>)) {
    const result = shopEvent.safeParse(parsed);
    if (!result.success) {
      const issues = describeIssues(result.error.issues, parsed as Record<string, unknown>);
      return rejected(message, 'schema_violation', issues.map((i) => `${i.field}: ${i.problem}`).join('; '), { issues });
    }
    event = result.data;
  }
  // What the parsed value cannot show: 2.0 for an integer, 1e2 or 3 decimals for money (lib/events/wire.ts).
  const spelling = numberSpellingProblem(text);
  if (spelling !== null) {
    return rejected(message, 'schema_violation', `${spelling.field}: ${spelling.problem}`, {
      issues: [{ field: spelling.field, problem: spelling.problem, code: 'number_spelling' }],
    });
  }
  // Only a \u escape can put into a string what Postgres text refuses (raw bytes were checked as UTF-8).
  if (text.includes('\\u')) {
    const refused = textRefusal(event);
    if (refused !== null) return rejected(message, 'unsupported_json', refused);
  }
  const fields: string[] = [
    copyText(topic),
    String(partition),
    message.offset.toString(),
    copyNullable(key === null ? null : key.toString('utf8')),
    event.event_id,
    event.event_type,
    copyText(event.event_time),
  ];
  for (const value of eventBodyFields(event as unknown as Record<string, unknown>)) fields.push(value);
  fields.push(
    message.timestampMs === KAFKA_NO_TIMESTAMP || Number.isNaN(message.timestampMs) ? COPY_NULL : isoTimestamp(message.timestampMs),
  );
  return { ok: true, line: copyLine(fields) };
}

/** The body columns of an admitted event (EVENT_BODY_COLUMNS order) as COPY text fields. */
export function eventBodyFields(event: Record<string, unknown>): string[] {
  return BODY_FIELDS.map((field) => copyValue(event[field]));
}

/**
 * A field of an admitted event as COPY text: absent or null is NULL; a number is written the
 * way JavaScript prints it, which for the contract's integers and two-decimal money (bounds.ts)
 * is a plain decimal the column's input function reads exactly.
 */
function copyValue(value: unknown): string {
  if (value === undefined || value === null) return COPY_NULL;
  if (typeof value === 'number') return String(value);
  return copyText(value as string);
}

/**
 * Why a record's Kafka timestamp cannot land, or null. The producer sets it (CreateTime) and any
 * 64-bit value gets through; raw.shop_events.kafka_timestamp holds the same span as event times.
 */
export function kafkaTimestampProblem(ms: number): string | null {
  if (ms === KAFKA_NO_TIMESTAMP || Number.isNaN(ms)) return null;
  if (ms >= EVENT_TIME_MIN_MS && ms < EVENT_TIME_END_MS) return null;
  return (
    `Kafka record timestamp ${ms} ms is outside the accepted range ${new Date(EVENT_TIME_MIN_MS).toISOString()} to ${new Date(EVENT_TIME_END_MS).toISOString()} ` +
    '(the producer set it: check its clock or the timestamp it passes to send)'
  );
}

/**
 * Why Postgres would refuse or alter a schema-valid event's strings (all are top-level values),
 * or null: text cannot hold NUL, and a lone surrogate has no UTF-8 form (the client would send
 * U+FFFD in its place, changing the value silently).
 */
function textRefusal(event: ShopEvent): string | null {
  for (const [field, v] of Object.entries(event)) {
    if (typeof v !== 'string') continue;
    if (v.includes('\u0000')) return `${field} contains \\u0000 (a NUL character), which Postgres text cannot store`;
    if (LONE_SURROGATE.test(v))
      return `${field} contains a lone UTF-16 surrogate escape (\\ud800-\\udfff without its pair), which Postgres text cannot store`;
  }
  return null;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Milliseconds of years 1970 to 9999: the range whose ISO form has a fixed 24-character layout. */
const LAST_FOUR_DIGIT_YEAR_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
let cachedSecond = Number.NaN;
let cachedSecondPrefix = '';

/**
 * `new Date(ms).toISOString()`, reusing the text of the last second seen: a fetch's records
 * were mostly produced within the same second, and building the date cost ~0.7 µs an event.
 */
export function isoTimestamp(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0 || ms > LAST_FOUR_DIGIT_YEAR_MS) return new Date(ms).toISOString();
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedSecondPrefix = new Date(second * 1000).toISOString().slice(0, 20); // YYYY-MM-DDTHH:MM:SS.
  }
  const millis = ms - second * 1000;
  return `${cachedSecondPrefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}

/** A dead letter for `message`. Module level: a closure made per message costs more than the check. */
function rejected(message: SourceMessage, code: DeadLetterCode, reason: string, details: Record<string, unknown> = {}): Decoded {
  return {
    ok: false,
    // Copies: the client's buffers are views of a whole fetch response, which a kept slice would pin in memory.
    deadLetter: {
      offset: message.offset,
      key: message.key === null ? null : Buffer.from(message.key),
      value: message.value === null ? null : Buffer.from(message.value),
      code,
      reason,
      details: { ...details, kafka_timestamp_ms: message.timestampMs },
    },
  };
}

export interface IssueDescription {
  field: string;
  problem: string;
  code: string;
}

/** One entry per schema issue: the field path and, for absent fields, that it is missing. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], input: Record<string, unknown>): IssueDescription[] {
  return issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return {
        field: issue.keys.join(', '),
        problem: 'unknown field (the contract allows no fields but its own; see docs/events.schema.json)',
        code: issue.code,
      };
    }
    const field = issue.path.length === 0 ? '(message)' : issue.path.map(String).join('.');
    const top = issue.path[0];
    const missing = issue.path.length === 1 && typeof top === 'string' && !(top in input);
    return { field, problem: missing ? `missing (${issue.message})` : issue.message, code: issue.code };
  });
}
