/**
 * The one parser of generator/ddl/shop.sql's CREATE TABLE statements: tables, columns (type,
 * nullability, comment) and key lines. The reference docs (scripts/docs-schemas.ts), the Postgres
 * shop schema (postgres.ts) and the contract tests read the source tables through it. A module
 * of its own, with no CLI, so the generator's bundle can import it.
 */

export interface Column {
  name: string;
  type: string;
  nullable: boolean;
  comment: string;
}

export interface Table {
  name: string;
  comment: string;
  columns: Column[];
  keys: string[];
}

const unquote = (text: string) => text.replace(/''/g, "'").replace(/\\'/g, "'");

export function parseDdl(sql: string): Table[] {
  const tables: Table[] = [];
  const tableRe = /CREATE TABLE IF NOT EXISTS (\w+) \(\n([\s\S]*?)\n\)[^;]*?COMMENT='((?:[^']|'')*)';/g;
  for (const match of sql.matchAll(tableRe)) {
    const table: Table = { name: match[1]!, comment: unquote(match[3]!), columns: [], keys: [] };
    for (const raw of match[2]!.split('\n')) {
      const line = raw.trim().replace(/,$/, '');
      const column = /^(\w+)\s+(.+?)\s+COMMENT '((?:[^']|'')*)'$/.exec(line);
      if (column && !/^(PRIMARY|UNIQUE|KEY|CONSTRAINT)$/.test(column[1]!)) {
        const definition = column[2]!;
        table.columns.push({
          name: column[1]!,
          type: definition.split(/\s+(?:NOT NULL|NULL|DEFAULT|AUTO_INCREMENT|ON UPDATE)/)[0]!,
          nullable: !/NOT NULL/.test(definition),
          comment: unquote(column[3]!),
        });
      } else if (/^(PRIMARY KEY|UNIQUE KEY|KEY|CONSTRAINT)/.test(line)) {
        table.keys.push(line);
      }
    }
    tables.push(table);
  }
  return tables;
}
