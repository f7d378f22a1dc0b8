/**
 * Recognises the table-level DDL in binlog query events, to log it as a schema_change (or
 * truncate) row against the right table. Only the statement head is parsed: enough to name the
 * statement and its table, not to understand the change; the full text is kept in the log.
 */
export type DdlKind = 'create_table' | 'alter_table' | 'drop_table' | 'rename_table' | 'truncate' | 'create_index' | 'drop_index';

export interface DdlStatement {
  kind: DdlKind;
  /** Database named in the statement, or the session's default database. */
  database: string;
  table: string;
  /** Further tables a multi-table DROP or RENAME touches. */
  otherTables: { database: string; table: string }[];
  /** RENAME TABLE (or ALTER TABLE ... RENAME TO): each old name and its new name, in order. */
  renames?: { from: { database: string; table: string }; to: { database: string; table: string } }[];
  /** CREATE OR REPLACE TABLE: the old table (and its rows) is replaced. */
  replaces?: boolean;
}

const NAME = String.raw`(?:\x60(?:[^\x60]|\x60\x60)+\x60|[\w$]+)`;
const QUALIFIED = String.raw`(${NAME}(?:\s*\.\s*${NAME})?)`;

const PATTERNS: { kind: DdlKind; regex: RegExp }[] = [
  { kind: 'truncate', regex: new RegExp(String.raw`^truncate\s+(?:table\s+)?${QUALIFIED}`, 'i') },
  { kind: 'alter_table', regex: new RegExp(String.raw`^alter\s+(?:online\s+)?(?:ignore\s+)?table\s+(?:if\s+exists\s+)?${QUALIFIED}`, 'i') },
  { kind: 'create_table', regex: new RegExp(String.raw`^create\s+(?:or\s+replace\s+)?table\s+(?:if\s+not\s+exists\s+)?${QUALIFIED}`, 'i') },
  {
    kind: 'drop_table',
    regex: new RegExp(String.raw`^drop\s+table\s+(?:if\s+exists\s+)?(${QUALIFIED}(?:\s*,\s*${NAME}(?:\s*\.\s*${NAME})?)*)`, 'i'),
  },
  { kind: 'rename_table', regex: new RegExp(String.raw`^rename\s+tables?\s+(.+)$`, 'is') },
  {
    kind: 'create_index',
    regex: new RegExp(
      String.raw`^create\s+(?:or\s+replace\s+)?(?:unique\s+|fulltext\s+|spatial\s+)?index\s+(?:if\s+not\s+exists\s+)?${NAME}\s+(?:using\s+\w+\s+)?on\s+${QUALIFIED}`,
      'i',
    ),
  },
  { kind: 'drop_index', regex: new RegExp(String.raw`^drop\s+index\s+(?:if\s+exists\s+)?${NAME}\s+on\s+${QUALIFIED}`, 'i') },
];

function unquote(name: string): string {
  const trimmed = name.trim();
  return trimmed.startsWith('`') ? trimmed.slice(1, -1).replaceAll('``', '`') : trimmed;
}

function splitQualified(qualified: string, defaultDatabase: string): { database: string; table: string } {
  const parts = qualified.match(new RegExp(NAME, 'g')) ?? [];
  if (parts.length >= 2) return { database: unquote(parts[0]!), table: unquote(parts[1]!) };
  return { database: defaultDatabase, table: unquote(parts[0] ?? '') };
}

/** Drops leading comments (`/* ... *\/`, `-- `, `#`) and whitespace. */
export function stripLeadingComments(sql: string): string {
  let rest = sql.trimStart();
  for (;;) {
    if (rest.startsWith('/*') && !rest.startsWith('/*!')) {
      const end = rest.indexOf('*/');
      if (end < 0) return '';
      rest = rest.slice(end + 2).trimStart();
    } else if (rest.startsWith('-- ') || rest.startsWith('#')) {
      const end = rest.indexOf('\n');
      if (end < 0) return '';
      rest = rest.slice(end + 1).trimStart();
    } else {
      return rest;
    }
  }
}

/** Table DDL in `sql`, or null for anything else (BEGIN, COMMIT, GRANT, CREATE DATABASE, temporary tables...). */
export function parseDdl(sql: string, defaultDatabase: string): DdlStatement | null {
  const text = stripLeadingComments(sql);
  if (/^(create|drop)\s+(?:or\s+replace\s+)?temporary\s/i.test(text)) return null;
  for (const { kind, regex } of PATTERNS) {
    const match = regex.exec(text);
    if (!match?.[1]) continue;
    if (kind === 'rename_table') {
      const pairs = match[1]
        .split(',')
        .map((pair) => pair.split(/\s+to\s+/i).map((n) => splitQualified(n.replace(/\s+(?:no)?wait\b.*$/is, ''), defaultDatabase)));
      const first = pairs[0]?.[0];
      if (!first?.table) return null;
      const others = pairs.flat().slice(1);
      const renames = pairs.filter((p) => p.length === 2).map(([from, to]) => ({ from: from!, to: to! }));
      return { kind, ...first, otherTables: others, renames };
    }
    if (kind === 'alter_table') {
      const target = splitQualified(match[1], defaultDatabase);
      // ALTER TABLE t RENAME [TO|AS] u (not RENAME COLUMN / INDEX / KEY).
      const rename = new RegExp(String.raw`(?:^|,)\s*rename\s+(?:to\s+|as\s+)?(?!column\b|index\b|key\b)${QUALIFIED}`, 'i').exec(
        text.slice(match[0].length),
      );
      if (rename?.[1]) {
        const to = splitQualified(rename[1], defaultDatabase);
        return { kind: 'rename_table', ...target, otherTables: [to], renames: [{ from: target, to }] };
      }
      return { kind, ...target, otherTables: [] };
    }
    if (kind === 'create_table') {
      return { kind, ...splitQualified(match[1], defaultDatabase), otherTables: [], replaces: /^create\s+or\s+replace\s/i.test(text) };
    }
    if (kind === 'drop_table') {
      const names = match[1].split(',').map((n) => splitQualified(n, defaultDatabase));
      return { kind, ...names[0]!, otherTables: names.slice(1) };
    }
    return { kind, ...splitQualified(match[1], defaultDatabase), otherTables: [] };
  }
  return null;
}

/** The tables of `database` a statement touches (a RENAME may move a table in or out of it). */
export function tablesInDatabase(ddl: DdlStatement, database: string): string[] {
  return [{ database: ddl.database, table: ddl.table }, ...ddl.otherTables].filter((t) => t.database === database).map((t) => t.table);
}

const DML_HEAD = /^(insert|replace|update|delete|load\s+data)\b/i;

/**
 * For a data-changing statement (INSERT, REPLACE, UPDATE, DELETE, LOAD DATA) logged as a
 * statement: whether it may write a table of `database`. Null for any other statement. Errs on
 * the side of yes (a multi-table UPDATE naming one of our tables counts), because a skipped
 * change is lost for good while a stop names its fix.
 */
export function dmlWritesDatabase(sql: string, defaultDatabase: string, database: string): boolean | null {
  const text = stripLeadingComments(sql);
  const head = DML_HEAD.exec(text);
  if (!head) return null;
  const verb = head[1]!.toLowerCase();
  let region: string;
  if (verb === 'insert' || verb === 'replace') {
    const m = new RegExp(String.raw`^\w+\s+(?:(?:low_priority|delayed|high_priority|ignore)\s+)*(?:into\s+)?${QUALIFIED}`, 'i').exec(text);
    region = m?.[1] ?? text;
  } else if (verb === 'update') {
    const set = /\bset\b/i.exec(text);
    region = text.slice(head[0].length, set ? set.index : undefined).replace(/^\s*(?:(?:low_priority|ignore)\s+)*/i, '');
  } else if (verb === 'delete') {
    const where = /\b(?:where|order\s+by|limit|returning)\b/i.exec(text);
    region = text
      .slice(head[0].length, where ? where.index : undefined)
      .replace(/\b(?:low_priority|quick|ignore|from|using|as|join|inner|left|right|outer|cross|straight_join|natural|on)\b/gi, ' ');
  } else {
    const m = new RegExp(String.raw`\binto\s+table\s+${QUALIFIED}`, 'i').exec(text);
    region = m?.[1] ?? text;
  }
  const names = region.match(new RegExp(String.raw`${NAME}(?:\s*\.\s*${NAME})?`, 'g')) ?? [];
  if (names.length === 0) return defaultDatabase === database;
  return names.some((name) => splitQualified(name, defaultDatabase).database === database);
}
