/**
 * The hot path of decoding: one pass over a message's UTF-8 bytes that admits a plainly written
 * event and writes its COPY line for raw.shop_events straight from those bytes. No string is
 * decoded, no object parsed, no field turned back into text: a field's bytes in the JSON are
 * the bytes its COPY field needs, once the scan has seen that they need no escaping.
 *
 * It says yes only to the common spelling of a valid event: no escape in any string, numbers
 * written the way JavaScript prints them (integers as digits, money with no trailing zero),
 * event_time in toISOString's form, no duplicated key. Everything else, valid or not, goes to
 * `decodeMessage` (decode.ts), the reference, which decides and names what is wrong. When this
 * says yes, the line it writes is byte for byte the line `decodeMessage` makes:
 * tests/ingest/kafka/fast-line.property.unit.test.ts checks that over generated and mutated
 * messages, and that it takes every event the generator writes.
 *
 * Profile before it (docs/kafka-ingestor.md): parsing, checking and re-encoding each message
 * took over half of the ingestor's busy time and most of its garbage.
 */
import { isUtf8 } from 'node:buffer';

import {
  EVENT_TIME_END_YEAR,
  EVENT_TIME_MIN_YEAR,
  INTEGER_BOUNDS,
  MAX_EVENT_BYTES,
  MONEY,
  MONEY_FIELDS,
  MONEY_MAX,
  STRING_MAX,
} from '../../lib/events/bounds.ts';
import { DEVICES, EVENT_SCHEMA_VERSION, EVENT_TYPES, shopEvent } from '../../lib/events/schema.ts';
import type { SourceMessage } from '../../lib/kafka/source.ts';
import { copyText } from '../shared/copy-text.ts';
import { EVENT_COLUMNS, isoTimestamp, KAFKA_NO_TIMESTAMP, kafkaTimestampProblem, type DecodeLimits } from './decode.ts';

/** A growable byte buffer that COPY lines are written into; `take()` hands out what was written. */
export class LineWriter {
  buf: Buffer;
  pos = 0;

  constructor(capacity = 256 * 1024) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + extra));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** ASCII text known to need no escaping (numbers, timestamps); short, so a loop beats a native call. */
  ascii(text: string): void {
    this.ensure(text.length);
    const { buf } = this;
    let pos = this.pos;
    for (let k = 0; k < text.length; k += 1) buf[pos++] = text.charCodeAt(k);
    this.pos = pos;
  }

  utf8(text: string): void {
    this.ensure(Buffer.byteLength(text, 'utf8'));
    this.pos += this.buf.write(text, this.pos, 'utf8');
  }

  bytes(source: Buffer, start = 0, end = source.length): void {
    const length = end - start;
    this.ensure(length);
    // Most fields are a few dozen bytes: Buffer#copy's per-call cost is larger than the loop.
    if (length > 64) {
      this.pos += source.copy(this.buf, this.pos, start, end);
      return;
    }
    const { buf } = this;
    let pos = this.pos;
    for (let k = start; k < end; k += 1) buf[pos++] = source[k]!;
    this.pos = pos;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** A copy of what was written (sized exactly, so the writer's spare room is not pinned), then empty. */
  take(): Buffer {
    const out = Buffer.allocUnsafeSlow(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    this.pos = 0;
    return out;
  }
}

const TAB = 9;
const NEWLINE = 10;
const CR = 13;
const SPACE = 32;
const QUOTE = 34;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const COLON = 58;
const BACKSLASH = 92;
const OPEN = 123;
const CLOSE = 125;

type Kind = 'version' | 'uuid' | 'type' | 'time' | 'text' | 'device' | 'country' | 'integer' | 'money';

// The kinds as small integers for the per-field check (a switch on numbers, not on strings).
const K_VERSION = 0;
const K_UUID = 1;
const K_TYPE = 2;
const K_TIME = 3;
const K_TEXT = 4;
const K_DEVICE = 5;
const K_COUNTRY = 6;
const K_INTEGER = 7;
const K_MONEY = 8;
const KIND_CODES: Record<Kind, number> = {
  version: K_VERSION,
  uuid: K_UUID,
  type: K_TYPE,
  time: K_TIME,
  text: K_TEXT,
  device: K_DEVICE,
  country: K_COUNTRY,
  integer: K_INTEGER,
  money: K_MONEY,
};

interface FieldRule {
  name: string;
  bytes: Buffer;
  kind: Kind;
  /** `kind` as one of the K_ codes. */
  code: number;
  /** The field's schema takes null. */
  nullable: boolean;
  /** Text: 1 .. max UTF-16 units (0 .. max when `minLength` is 0); integers: min .. max. */
  min: number;
  max: number;
  /** Its column in EVENT_COLUMNS. */
  column: number;
}

const MONEY_SET: ReadonlySet<string> = new Set(MONEY_FIELDS);
const MONEY_INTEGER_DIGITS = MONEY.precision - MONEY.scale;

function kindOf(name: string): Kind | undefined {
  if (name === 'schema_version') return 'version';
  if (Object.hasOwn(INTEGER_BOUNDS, name)) return 'integer';
  if (MONEY_SET.has(name)) return 'money';
  if (Object.hasOwn(STRING_MAX, name)) return 'text';
  return ({ event_id: 'uuid', event_type: 'type', event_time: 'time', device: 'device', country_code: 'country' } as const)[
    name as 'event_id'
  ];
}

/** Every field of the contract with what the scan checks of it; read from the schema and bounds once. */
const FIELDS: FieldRule[] = [];
/** Per event type, the fields it has (bit i is FIELDS[i]), so a key set is checked in one comparison. */
const TYPE_MASKS: number[] = [];
for (const option of shopEvent.options) {
  let mask = 0;
  for (const [name, schema] of Object.entries(option.shape)) {
    let index = FIELDS.findIndex((f) => f.name === name);
    if (index < 0) {
      const kind = kindOf(name);
      // A field this scan does not know: events that carry it are left to decodeMessage.
      if (kind === undefined) {
        mask = -1;
        break;
      }
      const bound = kind === 'integer' ? INTEGER_BOUNDS[name as keyof typeof INTEGER_BOUNDS] : undefined;
      const textMax = kind === 'text' ? STRING_MAX[name as keyof typeof STRING_MAX] : 0;
      const nullable = (schema as { safeParse: (v: unknown) => { success: boolean } }).safeParse(null).success;
      FIELDS.push({
        name,
        bytes: Buffer.from(name),
        kind,
        code: KIND_CODES[kind],
        nullable,
        // Non-nullable text (ids) has a minimum of one character; nullable text (urls) may be empty.
        min: bound?.min ?? (kind === 'text' && !nullable ? 1 : 0),
        max: bound?.max ?? textMax,
        column: EVENT_COLUMNS.indexOf(name),
      });
      index = FIELDS.length - 1;
    }
    mask |= 1 << index;
  }
  TYPE_MASKS[EVENT_TYPES.indexOf(option.shape.event_type.value)] = mask;
}
if (FIELDS.length > 30) throw new Error('fast-line: more contract fields than a 31-bit mask holds');
if (FIELDS.some((f) => f.column < 0)) throw new Error('fast-line: a contract field has no raw.shop_events column');

/** Fields by the length of their name, for the key lookup. */
const BY_LENGTH: number[][] = [];
FIELDS.forEach((f, i) => (BY_LENGTH[f.bytes.length] ??= []).push(i));
/** FOLLOWS[i + 1]: the field that came after field i in the last message read (FOLLOWS[0]: the first); -1 unknown. */
const FOLLOWS = new Int8Array(FIELDS.length + 1).fill(-1);
const TYPE_NAMES = EVENT_TYPES.map((t) => Buffer.from(t));
const DEVICE_NAMES = DEVICES.map((d) => Buffer.from(d));
const EVENT_TYPE_FIELD = FIELDS.findIndex((f) => f.kind === 'type');
/** Body columns in COPY order: index into FIELDS, from EVENT_COLUMNS' position 4 (event_id) to the one before kafka_timestamp. */
const COLUMN_FIELDS = EVENT_COLUMNS.slice(4, -1).map((name) => FIELDS.findIndex((f) => f.name === name));

// What the scan found, per field: reused between messages (one message at a time, synchronously);
// only the fields in the scan's mask are read.
const TOKEN_STRING = 1;
const TOKEN_NUMBER = 2;
const TOKEN_NULL = 3;
const tokenType = new Uint8Array(FIELDS.length);
const tokenStart = new Int32Array(FIELDS.length);
const tokenEnd = new Int32Array(FIELDS.length);
/** Strings: their length in UTF-16 units; numbers: their value (integers exact, money as written). */
const tokenValue = new Float64Array(FIELDS.length);
/** Numbers: digits after the point (-1 with none). */
const tokenDecimals = new Int8Array(FIELDS.length);

const isSpace = (b: number) => b === SPACE || b === NEWLINE || b === CR || b === TAB;

function skipSpace(v: Buffer, i: number): number {
  while (i < v.length && isSpace(v[i]!)) i += 1;
  return i;
}

/**
 * The field whose name is the key's bytes, or -1, searched among the names of that length; the
 * one found becomes the guess for the key after `previous` (producers write an event's fields in
 * one order, so scanObject compares that guess first).
 */
function fieldAt(v: Buffer, start: number, end: number, previous: number): number {
  const candidates = BY_LENGTH[end - start];
  if (candidates === undefined) return -1;
  for (let c = 0; c < candidates.length; c += 1) {
    const index = candidates[c]!;
    if (equalBytes(v, start, end, FIELDS[index]!.bytes)) {
      FOLLOWS[previous + 1] = index;
      return index;
    }
  }
  return -1;
}

function equalBytes(v: Buffer, start: number, end: number, expected: Buffer): boolean {
  if (end - start !== expected.length) return false;
  for (let k = 0; k < expected.length; k += 1) if (v[start + k] !== expected[k]) return false;
  return true;
}

// What a byte inside a string is to the scan, looked up in one step.
const PLAIN = 0;
const END = 1;
const REFUSED = 2;
const CONTINUATION = 3;
const LEAD = 4;
const FOUR_BYTE_LEAD = 5;
const STRING_BYTE = new Uint8Array(256).map((_, b) =>
  b === QUOTE
    ? END
    : b === BACKSLASH || b < SPACE
      ? REFUSED
      : b < 0x80
        ? PLAIN
        : b < 0xc0
          ? CONTINUATION
          : b < 0xf0
            ? LEAD
            : FOUR_BYTE_LEAD,
);

/** Set by scanString when a string held a byte past ASCII: only then is the message's UTF-8 checked. */
let sawNonAscii = false;

/**
 * Scans the string whose content starts at `i`; returns the index of its closing quote, or -1
 * for a string this path leaves alone (an escape, a raw control character, no end). Its length
 * in UTF-16 units goes to tokenValue[field] (valid UTF-8 assumed: the caller checks it after the
 * scan whenever a string held a byte past ASCII).
 */
function scanString(v: Buffer, i: number, field: number): number {
  const n = v.length;
  const from = i;
  // UTF-16 units = bytes - continuation bytes + one more per four-byte sequence.
  let adjust = 0;
  for (; i < n; i += 1) {
    const b = v[i]!;
    const cls = STRING_BYTE[b]!;
    if (cls === PLAIN) continue;
    if (cls === END) {
      tokenValue[field] = i - from + adjust;
      return i;
    }
    if (cls === REFUSED) return -1;
    sawNonAscii = true;
    if (cls === CONTINUATION) adjust -= 1;
    else if (cls === FOUR_BYTE_LEAD) adjust += 1;
  }
  return -1;
}

/**
 * Scans a number written as JavaScript would print it: digits without a leading zero, at most a
 * fraction without a trailing zero, no exponent, no sign. Returns the index after it, or -1.
 */
function scanNumber(v: Buffer, i: number, field: number): number {
  const start = i;
  let integer = 0;
  while (i < v.length && v[i]! >= ZERO && v[i]! <= NINE) integer = integer * 10 + (v[i++]! - ZERO);
  const digits = i - start;
  if (digits === 0 || digits > 16 || (digits > 1 && v[start] === ZERO)) return -1;
  let decimals = -1;
  let cents = 0;
  if (v[i] === DOT) {
    i += 1;
    const from = i;
    while (i < v.length && v[i]! >= ZERO && v[i]! <= NINE) cents = cents * 10 + (v[i++]! - ZERO);
    decimals = i - from;
    if (decimals === 0 || decimals > MONEY.scale || v[i - 1] === ZERO) return -1;
    if (decimals === 1) cents *= 10;
    if (digits > MONEY_INTEGER_DIGITS) return -1;
  }
  const next = v[i];
  if (next === 101 || next === 69 || next === MINUS || next === DOT) return -1; // e, E
  tokenDecimals[field] = decimals;
  // Integer cents are exact; dividing by 100 rounds once, to the double JSON.parse reads.
  tokenValue[field] = decimals < 0 ? integer : (integer * 100 + cents) / 100;
  return i;
}

/** 1 for the bytes of 0-9, a-f, A-F. */
const HEX = new Uint8Array(256).map((_, b) => ((b >= ZERO && b <= NINE) || (b >= 97 && b <= 102) || (b >= 65 && b <= 70) ? 1 : 0));

/** RFC 9562 layout, versions 1-8, variant 10xx: the UUIDs zod's z.uuid() takes, fewer if anything. */
function isUuid(v: Buffer, s: number, e: number): boolean {
  if (e - s !== 36) return false;
  for (let k = 0; k < 36; k += 1) {
    const b = v[s + k]!;
    if (k === 8 || k === 13 || k === 18 || k === 23) {
      if (b !== MINUS) return false;
    } else if (HEX[b] === 0) return false;
  }
  const version = v[s + 14]!;
  const variant = v[s + 19]!;
  return (
    version >= 49 &&
    version <= 56 &&
    (variant === 56 || variant === 57 || variant === 97 || variant === 98 || variant === 65 || variant === 66)
  );
}

function digitsAt(v: Buffer, start: number, end: number): number {
  let n = 0;
  for (let k = start; k < end; k += 1) {
    const d = v[k]! - ZERO;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** YYYY-MM-DDTHH:MM:SS.sssZ within the contract's years, a day its month has. */
function isIsoInstant(v: Buffer, s: number, e: number): boolean {
  if (e - s !== 24) return false;
  if (v[s + 4] !== MINUS || v[s + 7] !== MINUS || v[s + 10] !== 84 || v[s + 13] !== COLON || v[s + 16] !== COLON) return false;
  if (v[s + 19] !== DOT || v[s + 23] !== 90) return false; // T, Z
  const year = digitsAt(v, s, s + 4);
  const month = digitsAt(v, s + 5, s + 7);
  const day = digitsAt(v, s + 8, s + 10);
  if (year < EVENT_TIME_MIN_YEAR || year >= EVENT_TIME_END_YEAR || month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]!)
    return false;
  if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return false;
  const hour = digitsAt(v, s + 11, s + 13);
  const minute = digitsAt(v, s + 14, s + 16);
  const second = digitsAt(v, s + 17, s + 19);
  return hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 59 && digitsAt(v, s + 20, s + 23) >= 0;
}

/** Reads the top-level object; the fields seen as a mask, or -1 for anything this path leaves alone. */
function scanObject(v: Buffer): number {
  const n = v.length;
  let i = skipSpace(v, 0);
  if (i >= n || v[i] !== OPEN) return -1;
  i = skipSpace(v, i + 1);
  let seen = 0;
  let previous = -1;
  for (;;) {
    if (i >= n || v[i] !== QUOTE) return -1;
    const keyStart = i + 1;
    let keyEnd = -1;
    let field = -1;
    // The key is most often the name that followed the previous key last time: matched in the
    // same pass that finds its end (its bytes, then the closing quote).
    const guess = FOLLOWS[previous + 1]!;
    if (guess >= 0) {
      const name = FIELDS[guess]!.bytes;
      const end = keyStart + name.length;
      if (end < n && v[end] === QUOTE) {
        let k = 0;
        while (k < name.length && v[keyStart + k] === name[k]) k += 1;
        if (k === name.length) {
          field = guess;
          keyEnd = end;
        }
      }
    }
    if (field < 0) {
      keyEnd = keyStart;
      while (keyEnd < n && v[keyEnd] !== QUOTE && v[keyEnd] !== BACKSLASH) keyEnd += 1;
      if (keyEnd >= n || v[keyEnd] !== QUOTE) return -1;
      field = fieldAt(v, keyStart, keyEnd, previous);
    }
    // An unknown field, or a second copy of one (JSON.parse keeps the last): decodeMessage decides.
    if (field < 0 || (seen & (1 << field)) !== 0) return -1;
    seen |= 1 << field;
    previous = field;
    i = skipSpace(v, keyEnd + 1);
    if (i >= n || v[i] !== COLON) return -1;
    i = skipSpace(v, i + 1);
    if (i >= n) return -1;
    const b = v[i]!;
    if (b === QUOTE) {
      const end = scanString(v, i + 1, field);
      if (end < 0) return -1;
      tokenType[field] = TOKEN_STRING;
      tokenStart[field] = i + 1;
      tokenEnd[field] = end;
      i = end + 1;
    } else if (b >= ZERO && b <= NINE) {
      const end = scanNumber(v, i, field);
      if (end < 0) return -1;
      tokenType[field] = TOKEN_NUMBER;
      tokenStart[field] = i;
      tokenEnd[field] = end;
      i = end;
    } else if (b === 110 && i + 3 < n && v[i + 1] === 117 && v[i + 2] === 108 && v[i + 3] === 108) {
      tokenType[field] = TOKEN_NULL; // null
      i += 4;
    } else {
      return -1;
    }
    i = skipSpace(v, i);
    if (i >= n) return -1;
    if (v[i] === COMMA) {
      i = skipSpace(v, i + 1);
      continue;
    }
    if (v[i] !== CLOSE) return -1;
    return skipSpace(v, i + 1) === n ? seen : -1;
  }
}

/** Whether the field the scan found satisfies its rule. */
function fieldAccepted(v: Buffer, index: number): boolean {
  const rule = FIELDS[index]!;
  const token = tokenType[index];
  if (token === TOKEN_NULL) return rule.nullable;
  const s = tokenStart[index]!;
  const e = tokenEnd[index]!;
  const value = tokenValue[index]!;
  switch (rule.code) {
    case K_VERSION:
      return token === TOKEN_NUMBER && tokenDecimals[index] === -1 && value === EVENT_SCHEMA_VERSION;
    case K_INTEGER:
      return token === TOKEN_NUMBER && tokenDecimals[index] === -1 && value >= rule.min && value <= rule.max;
    case K_MONEY:
      // The scan read digits with at most two decimals; the same test as fast-accept.ts on the value.
      return token === TOKEN_NUMBER && value <= MONEY_MAX && Math.round(value * 100) / 100 === value;
    case K_TEXT:
      return token === TOKEN_STRING && value >= rule.min && value <= rule.max;
    case K_UUID:
      return token === TOKEN_STRING && isUuid(v, s, e);
    case K_TIME:
      return token === TOKEN_STRING && isIsoInstant(v, s, e);
    case K_DEVICE:
      if (token !== TOKEN_STRING) return false;
      for (let d = 0; d < DEVICE_NAMES.length; d += 1) if (equalBytes(v, s, e, DEVICE_NAMES[d]!)) return true;
      return false;
    case K_COUNTRY:
      return token === TOKEN_STRING && e - s === 2 && v[s]! >= 65 && v[s]! <= 90 && v[s + 1]! >= 65 && v[s + 1]! <= 90;
    case K_TYPE:
      return token === TOKEN_STRING; // matched against the types by the caller
    default:
      return false;
  }
}

/** What keyCheck found in a key. */
const KEY_REFUSED = -1;
const KEY_PLAIN = 0;
const KEY_ESCAPED = 1;

/**
 * One pass over the key: refused (a NUL, or not UTF-8: the reference's dead letters), plain (its
 * bytes are the COPY field) or needing COPY escapes. UTF-8 is checked only for a key with a byte
 * past ASCII.
 */
function keyCheck(key: Buffer): number {
  let high = false;
  let escaped = false;
  for (let k = 0; k < key.length; k += 1) {
    const b = key[k]!;
    if (b === 0) return KEY_REFUSED;
    if (b >= 0x80) high = true;
    else if (b === BACKSLASH || b === NEWLINE || b === CR || b === TAB) escaped = true;
  }
  if (high && !isUtf8(key)) return KEY_REFUSED;
  return escaped ? KEY_ESCAPED : KEY_PLAIN;
}

/** Topic and partition as they start every line of a batch, written once per batch. */
export function linePrefix(topic: string, partition: number): Buffer {
  return Buffer.from(`${copyText(topic)}\t${partition}\t`, 'utf8');
}

/** The text of the second the last timestamp fell in (`YYYY-MM-DDTHH:MM:SS.`, as isoTimestamp writes it), as bytes. */
let timestampSecond = Number.NaN;
let timestampPrefix = Buffer.alloc(0);
/** Largest millisecond time whose ISO text has a four-digit year (the form the cached prefix has). */
const LAST_FOUR_DIGIT_YEAR_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Bytes a line can take besides the value's own: envelope, tabs and `\\N` per column, timestamp. */
const LINE_OVERHEAD = 3 * EVENT_COLUMNS.length + 64;

/**
 * Writes the COPY line of `message` into `out` and returns true if it is a plainly written
 * valid event; otherwise writes nothing and returns false (ask decodeMessage).
 * `prefix` is linePrefix(topic, partition).
 */
export function writeFastLine(out: LineWriter, prefix: Buffer, message: SourceMessage, limits: DecodeLimits): boolean {
  const { key, value } = message;
  if (value === null || value.length > MAX_EVENT_BYTES) return false;
  let keyKind = KEY_PLAIN;
  if (key !== null) {
    if (key.length > limits.maxKeyBytes) return false;
    keyKind = keyCheck(key);
    if (keyKind === KEY_REFUSED) return false;
  }
  const ms = message.timestampMs;
  const noTimestamp = ms === KAFKA_NO_TIMESTAMP || Number.isNaN(ms);
  if (!noTimestamp && kafkaTimestampProblem(ms) !== null) return false;
  sawNonAscii = false;
  const seen = scanObject(value);
  // Bytes past ASCII can only be inside strings (the scan refuses them anywhere else).
  if (seen < 0 || (sawNonAscii && !isUtf8(value))) return false;
  if ((seen & (1 << EVENT_TYPE_FIELD)) === 0 || tokenType[EVENT_TYPE_FIELD] !== TOKEN_STRING) return false;
  const typeStart = tokenStart[EVENT_TYPE_FIELD]!;
  const typeEnd = tokenEnd[EVENT_TYPE_FIELD]!;
  let type = 0;
  while (type < TYPE_NAMES.length && !equalBytes(value, typeStart, typeEnd, TYPE_NAMES[type]!)) type += 1;
  if (type === TYPE_NAMES.length || seen !== TYPE_MASKS[type]) return false;
  for (let index = 0; index < FIELDS.length; index += 1) if ((seen & (1 << index)) !== 0 && !fieldAccepted(value, index)) return false;

  if (keyKind === KEY_ESCAPED) {
    // Rare (a key with a tab, newline or backslash): written through the reference's escaping.
    const escapedKey = Buffer.from(copyText(key!.toString('utf8')), 'utf8');
    return writeLine(out, prefix, message.offset, escapedKey, value, seen, ms, noTimestamp);
  }
  return writeLine(out, prefix, message.offset, key, value, seen, ms, noTimestamp);
}

/** The line, into room made once: the envelope, the fields' bytes in column order, the timestamp. */
function writeLine(
  out: LineWriter,
  prefix: Buffer,
  offset: bigint,
  key: Buffer | null,
  value: Buffer,
  seen: number,
  ms: number,
  noTimestamp: boolean,
): true {
  out.ensure(prefix.length + (key === null ? 0 : key.length) + value.length + LINE_OVERHEAD);
  const buf = out.buf;
  let pos = out.pos;
  for (let k = 0; k < prefix.length; k += 1) buf[pos++] = prefix[k]!;
  const number = Number(offset);
  if (Number.isSafeInteger(number) && number >= 0) {
    pos = writeDigits(buf, pos, number);
  } else {
    const text = offset.toString();
    for (let k = 0; k < text.length; k += 1) buf[pos++] = text.charCodeAt(k);
  }
  buf[pos++] = TAB;
  if (key === null) {
    buf[pos++] = BACKSLASH;
    buf[pos++] = 78; // N
  } else if (key.length > 64) {
    pos += key.copy(buf, pos);
  } else {
    for (let k = 0; k < key.length; k += 1) buf[pos++] = key[k]!;
  }
  for (let c = 0; c < COLUMN_FIELDS.length; c += 1) {
    const index = COLUMN_FIELDS[c]!;
    buf[pos++] = TAB;
    if ((seen & (1 << index)) === 0 || tokenType[index] === TOKEN_NULL) {
      buf[pos++] = BACKSLASH;
      buf[pos++] = 78; // N
      continue;
    }
    const s = tokenStart[index]!;
    const e = tokenEnd[index]!;
    // Most fields are a few dozen bytes: Buffer#copy's per-call cost is larger than the loop.
    if (e - s > 64) pos += value.copy(buf, pos, s, e);
    else for (let k = s; k < e; k += 1) buf[pos++] = value[k]!;
  }
  buf[pos++] = TAB;
  if (noTimestamp) {
    buf[pos++] = BACKSLASH;
    buf[pos++] = 78; // N
  } else if (Number.isInteger(ms) && ms >= 0 && ms <= LAST_FOUR_DIGIT_YEAR_MS) {
    const second = Math.floor(ms / 1000);
    if (second !== timestampSecond) {
      timestampSecond = second;
      timestampPrefix = Buffer.from(isoTimestamp(second * 1000).slice(0, 20), 'latin1');
    }
    for (let k = 0; k < 20; k += 1) buf[pos++] = timestampPrefix[k]!;
    const millis = ms - second * 1000;
    buf[pos++] = ZERO + Math.floor(millis / 100);
    buf[pos++] = ZERO + (Math.floor(millis / 10) % 10);
    buf[pos++] = ZERO + (millis % 10);
    buf[pos++] = 90; // Z
  } else {
    const text = isoTimestamp(ms);
    for (let k = 0; k < text.length; k += 1) buf[pos++] = text.charCodeAt(k);
  }
  buf[pos++] = NEWLINE;
  out.pos = pos;
  return true;
}

/** The decimal digits of a safe non-negative integer at `pos`; returns the position after them. */
function writeDigits(buf: Buffer, pos: number, n: number): number {
  let digits = 1;
  for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits += 1;
  let at = pos + digits;
  let rest = n;
  do {
    buf[--at] = ZERO + (rest % 10);
    rest = Math.floor(rest / 10);
  } while (rest > 0);
  return pos + digits;
}
