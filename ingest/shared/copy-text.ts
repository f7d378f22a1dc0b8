/**
 * Postgres COPY text format: one line per row, tab-separated, `\N` for NULL, with backslash,
 * newline, carriage return and tab escaped. Shared by the ingestors; generic on purpose.
 */

const NEEDS_ESCAPE = /[\\\n\r\t]/;
const ESCAPES = /[\\\n\r\t]/g;
const REPLACEMENTS: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export const COPY_NULL = '\\N';

/** Escapes one text value for COPY text format (NULL handled by the caller). */
export function copyText(value: string): string {
  return NEEDS_ESCAPE.test(value) ? value.replace(ESCAPES, (c) => REPLACEMENTS[c]!) : value;
}

/** `\N` for null/undefined, otherwise the escaped text. */
export function copyNullable(value: string | null | undefined): string {
  return value == null ? COPY_NULL : copyText(value);
}

/** bytea in COPY text format: hex form, whose backslash is itself escaped. */
export function copyBytea(value: Buffer | null | undefined): string {
  return value == null ? COPY_NULL : `\\\\x${value.toString('hex')}`;
}

/** One COPY line from already-formatted fields (each escaped or `\N`). */
export function copyLine(fields: readonly string[]): string {
  return `${fields.join('\t')}\n`;
}
