/**
 * The file sources, declared in one YAML (or JSON) file (docs/files.md): where the files are,
 * how their CSV is written, and the columns, types and keys each row must have. Validated once
 * at start; a bad file is refused with one sentence naming every problem and where it is.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

import { ConfigError, coerceError } from '../../lib/errors.ts';
import { TYPED_META_COLUMNS } from './typed-table.ts';

export const COLUMN_TYPES = ['text', 'integer', 'numeric', 'boolean', 'date', 'timestamp'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

export const ENCODINGS = ['utf8', 'latin1', 'utf16le'] as const;

const NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const oneChar = (what: string) => z.string().length(1, `${what} must be exactly one character`);

const column = z.strictObject({
  name: z.string().regex(NAME, 'a column name is lower case letters, digits and _ (a SQL identifier)'),
  type: z.enum(COLUMN_TYPES),
  /** The CSV header naming this column, when it differs from `name` (header: true only). */
  header: z.string().min(1).optional(),
  nullable: z.boolean().default(true),
});

const csv = z
  .strictObject({
    header: z.boolean().default(true),
    delimiter: oneChar('delimiter').default(','),
    quote: oneChar('quote').default('"'),
    escape: oneChar('escape').default('"'),
    encoding: z.enum(ENCODINGS).default('utf8'),
    decimal: z.enum(['.', ',']).default('.'),
    thousands: z.enum(['', ',', '.', ' ', "'"]).default(''),
    dateFormat: z
      .string()
      .regex(/^(?=.*YYYY)(?=.*MM)(?=.*DD)[YMD/.\- ]+$/, 'dateFormat uses YYYY, MM and DD with / . - or space between them')
      .default('YYYY-MM-DD'),
    timestampFormat: z
      .string()
      .regex(
        /^(?=.*YYYY)(?=.*MM)(?=.*DD)(?=.*HH)(?=.*mm)[YMDHms/.\-: T]+$/,
        'timestampFormat uses YYYY, MM, DD, HH, mm and optionally ss with / . - : space or T between them',
      )
      .default('YYYY-MM-DD HH:mm:ss'),
    trueValues: z.array(z.string()).min(1).default(['true', 't', '1', 'yes']),
    falseValues: z.array(z.string()).min(1).default(['false', 'f', '0', 'no']),
  })
  .refine((o) => o.decimal !== o.thousands, { message: 'decimal and thousands separators must differ', path: ['thousands'] })
  .refine((o) => o.delimiter !== o.quote, { message: 'delimiter and quote must differ', path: ['quote'] });

const source = z
  .strictObject({
    name: z.string().regex(NAME, 'a source name is lower case letters, digits and _'),
    /** A folder, relative to the config file (or s3, not both). */
    folder: z.string().min(1).optional(),
    /**
     * An S3-compatible prefix: objects directly under bucket/prefix whose names (the rest of the
     * key) match the pattern. Endpoint and credentials are S3_ENDPOINT, S3_REGION,
     * S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY and S3_PATH_STYLE.
     */
    s3: z
      .strictObject({
        bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name is lower case letters, digits, dots and dashes'),
        prefix: z
          .string()
          .default('')
          .refine((p) => p === '' || p.endsWith('/'), 'an S3 prefix is empty or ends with / (a folder of objects)'),
      })
      .optional(),
    /** Which file names in the folder belong to the source: `*` matches any run of characters (default *.csv or *.jsonl). */
    pattern: z.string().min(1).optional(),
    /**
     * csv; jsonl: one JSON object per line, columns found by name, csv options except encoding
     * unused; parquet: columns found by name, read a row group at a time, csv options unused.
     */
    format: z.enum(['csv', 'jsonl', 'parquet']).default('csv'),
    /** The table the rows stand for (dbt staging's name for them); raw keeps them in raw_files.<name>. */
    table: z.string().regex(NAME, 'a table name is lower case letters, digits and _'),
    columns: z.array(column).min(1, 'a source needs at least one column'),
    keys: z.array(z.string()).min(1, 'a source needs at least one key column'),
    csv: csv.default(() => csv.parse({})),
    /** A file with more bad rows than this is refused whole (a wrong delimiter, not bad rows). */
    maxBadRows: z.number().int().min(0).default(1000),
  })
  .superRefine((s, ctx) => {
    const names = s.columns.map((c) => c.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) ctx.addIssue({ code: 'custom', message: `column "${dup}" is declared twice`, path: ['columns'] });
    for (const name of names)
      if ((TYPED_META_COLUMNS as readonly string[]).includes(name))
        ctx.addIssue({
          code: 'custom',
          message: `column "${name}" is a name raw_files.<source> keeps for itself (${TYPED_META_COLUMNS.join(', ')}); declare it under another name with header: "${name}"`,
          path: ['columns'],
        });
    for (const key of s.keys)
      if (!names.includes(key)) ctx.addIssue({ code: 'custom', message: `key "${key}" is not a declared column`, path: ['keys'] });
    if ((s.folder === undefined) === (s.s3 === undefined))
      ctx.addIssue({ code: 'custom', message: 'declare where the files are: folder or s3 (one of them)', path: ['folder'] });
    if (!s.csv.header && s.columns.some((c) => c.header !== undefined))
      ctx.addIssue({ code: 'custom', message: 'a column header name needs csv.header: true', path: ['columns'] });
  });

const file = z.strictObject({ sources: z.array(source).min(1, 'declare at least one source') }).superRefine((f, ctx) => {
  const names = f.sources.map((s) => s.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) ctx.addIssue({ code: 'custom', message: `source "${dup}" is declared twice`, path: ['sources'] });
});

/**
 * `folderPath`: the folder of a folder source; for an S3 source, where the objects would be named
 * (unused: its objects are spooled one at a time, s3-source.ts).
 */
export type FileSource = z.infer<typeof source> & { folderPath: string; pattern: string };
export type CsvOptions = FileSource['csv'];
export type ColumnSpec = FileSource['columns'][number];

/** `*` matches any run of characters (no `/`), `?` one; everything else literally. */
export function patternRegex(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '[^/]*')
    .replaceAll('?', '[^/]');
  return new RegExp(`^${body}$`);
}

function where(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('') || '(top level)';
}

/** Validates a parsed config document; `baseDir` resolves relative folders. */
export function parseSourceConfig(document: unknown, label: string, baseDir: string): FileSource[] {
  const result = file.safeParse(document);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${where(issue.path)}: ${issue.message}`);
    throw new ConfigError(`file sources config ${label} is invalid: ${problems.join('; ')}`);
  }
  return result.data.sources.map((s) => ({
    ...s,
    pattern: s.pattern ?? `*.${s.format}`,
    folderPath: resolve(baseDir, s.folder ?? '.'),
  }));
}

export function loadSourceConfig(path: string): FileSource[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`file sources config ${path} cannot be read: ${coerceError(error).message}`);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`file sources config ${path} is not valid YAML: ${coerceError(error).message.split('\n')[0]}`);
  }
  return parseSourceConfig(document, path, dirname(resolve(path)));
}
