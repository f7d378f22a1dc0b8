/**
 * The REST sources, declared in one YAML (or JSON) file (docs/api.md): where the API is, how
 * it pages, which field is the updated-at cursor, and the columns, types and keys each record
 * must have. Validated once at start; a bad file is refused with one sentence naming every
 * problem and where it is. The token is not here: it is a secret, so it comes from API_TOKEN.
 */
import { readFileSync } from 'node:fs';

import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

import { ConfigError, coerceError } from '../../lib/errors.ts';

export const API_COLUMN_TYPES = ['text', 'integer', 'numeric', 'boolean', 'date', 'timestamp'] as const;
export type ApiColumnType = (typeof API_COLUMN_TYPES)[number];

const NAME = /^[a-z_][a-z0-9_]{0,62}$/;

const column = z.strictObject({
  name: z.string().regex(NAME, 'a column name is lower case letters, digits and _ (a SQL identifier)'),
  type: z.enum(API_COLUMN_TYPES),
  /** The record's JSON key, when it differs from `name`. */
  field: z.string().min(1).optional(),
  nullable: z.boolean().default(true),
});

const source = z
  .strictObject({
    name: z.string().regex(NAME, 'a source name is lower case letters, digits and _'),
    /** The API's base URL (http or https); `path` and the query are added to it. */
    baseUrl: z.url({ protocol: /^https?$/, error: 'baseUrl must be an http:// or https:// URL' }),
    path: z.string().startsWith('/', 'path starts with /'),
    /** Fixed query parameters sent with every request (e.g. a version or a paging style). */
    query: z.record(z.string(), z.string()).default({}),
    auth: z.enum(['bearer', 'none']).default('bearer'),
    /**
     * cursor: the body names the next page (`cursorField`), sent back as `cursorParam`;
     * link: the next page is the Link header's rel="next"; offset: `offsetParam` grows by the
     * records received until a page comes back short.
     */
    paging: z.enum(['cursor', 'link', 'offset']),
    pageSize: z.number().int().min(1).max(10_000).default(500),
    recordsField: z.string().min(1).default('data'),
    cursorField: z.string().min(1).default('next_cursor'),
    cursorParam: z.string().min(1).default('cursor'),
    limitParam: z.string().min(1).default('limit'),
    offsetParam: z.string().min(1).default('offset'),
    /** The query parameter that asks for records updated at or after an instant (inclusive). */
    sinceParam: z.string().min(1).default('updated_since'),
    /** The timestamp column the API sorts by (ascending) and filters on: the incremental cursor. */
    updatedAt: z.string().regex(NAME),
    keys: z.array(z.string()).min(1, 'a source needs at least one key column'),
    columns: z.array(column).min(1, 'a source needs at least one column'),
  })
  .superRefine((s, ctx) => {
    const names = s.columns.map((c) => c.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) ctx.addIssue({ code: 'custom', message: `column "${dup}" is declared twice`, path: ['columns'] });
    for (const key of s.keys)
      if (!names.includes(key)) ctx.addIssue({ code: 'custom', message: `key "${key}" is not a declared column`, path: ['keys'] });
    const cursor = s.columns.find((c) => c.name === s.updatedAt);
    if (!cursor) ctx.addIssue({ code: 'custom', message: `updatedAt "${s.updatedAt}" is not a declared column`, path: ['updatedAt'] });
    else if (cursor.type !== 'timestamp')
      ctx.addIssue({ code: 'custom', message: `updatedAt "${s.updatedAt}" must be a timestamp column`, path: ['updatedAt'] });
  });

const file = z.strictObject({ sources: z.array(source).min(1, 'declare at least one source') }).superRefine((f, ctx) => {
  const names = f.sources.map((s) => s.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) ctx.addIssue({ code: 'custom', message: `source "${dup}" is declared twice`, path: ['sources'] });
});

export type ApiSource = z.infer<typeof source>;
export type ApiColumn = ApiSource['columns'][number];

function where(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('') || '(top level)';
}

export function parseApiConfig(document: unknown, label: string): ApiSource[] {
  const result = file.safeParse(document);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${where(issue.path)}: ${issue.message}`);
    throw new ConfigError(`REST sources config ${label} is invalid: ${problems.join('; ')}`);
  }
  return result.data.sources;
}

export function loadApiConfig(path: string): ApiSource[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`REST sources config ${path} cannot be read: ${coerceError(error).message}`);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`REST sources config ${path} is not valid YAML: ${coerceError(error).message.split('\n')[0]}`);
  }
  return parseApiConfig(document, path);
}
