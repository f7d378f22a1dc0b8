/**
 * The MariaDB/MySQL side: connection options from SHOP_DB_URL, server settings checks,
 * binlog coordinates (head, available files) and table metadata.
 */
import mysqlCore, { type ConnectionOptions } from 'mysql2';
import type mysql from 'mysql2/promise';

import { FatalPipelineError } from '../../lib/errors.ts';
import type { SourceColumn } from './type-map.ts';

export interface SourceInfo {
  /** Connection options without a database, shared by queries, snapshot and binlog reader. */
  connection: ConnectionOptions;
  database: string;
}

export function sourceFromUrl(shopDbUrl: string): SourceInfo {
  const url = new URL(shopDbUrl);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database)
    throw new FatalPipelineError('CDC_NO_DATABASE', `SHOP_DB_URL must name the database to capture (got ${url.protocol}//${url.host}/)`);
  return {
    database,
    connection: {
      host: url.hostname,
      port: url.port ? Number(url.port) : 3306,
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      // Values as strings where JS would lose them: DECIMAL exact, BIGINT beyond 2^53 exact,
      // temporals as the server's text (converted to ISO UTC in values.ts).
      supportBigNumbers: true,
      bigNumberStrings: false,
      decimalNumbers: false,
      dateStrings: true,
      // JSON columns as the text the server stores (the binlog carries that text too): parsing
      // would round numbers past 2^53 and reorder nothing else worth having.
      jsonStrings: true,
      timezone: 'Z',
      charset: 'utf8mb4',
      connectTimeout: 10_000,
      enableKeepAlive: true,
    },
  };
}

export type Flavor = 'mariadb' | 'mysql';

export interface BinlogCoordinate {
  file: string;
  position: number;
}

/** Orders binlog coordinates: files by their numeric suffix, then positions. */
export function compareCoordinates(a: BinlogCoordinate, b: BinlogCoordinate): number {
  const sa = fileSequence(a.file);
  const sb = fileSequence(b.file);
  if (sa !== sb) return sa - sb;
  return a.position - b.position;
}

export function fileSequence(file: string): number {
  const match = /\.(\d+)$/.exec(file);
  return match ? Number(match[1]) : 0;
}

export interface SourceConnection {
  /** Promise API for ordinary queries. */
  query: mysql.Connection;
  /** Callback API, for streaming result sets. */
  core: mysqlCore.Connection;
}

/** A connection in a UTC session (TIMESTAMP values then print as UTC). */
export async function openSourceConnection(source: SourceInfo): Promise<SourceConnection> {
  const core = mysqlCore.createConnection({ ...source.connection, database: source.database });
  core.on('error', () => undefined); // errors surface on the next query; an idle drop must not crash
  const query = core.promise();
  try {
    await query.query("SET SESSION time_zone = '+00:00'");
  } catch (error) {
    core.destroy();
    throw error;
  }
  return { query, core };
}

export async function openControlConnection(source: SourceInfo): Promise<mysql.Connection> {
  return (await openSourceConnection(source)).query;
}

type Row = Record<string, unknown>;

export async function detectFlavor(connection: mysql.Connection): Promise<Flavor> {
  const [rows] = await connection.query('SELECT VERSION() AS version');
  return String((rows as Row[])[0]?.version ?? '').includes('MariaDB') ? 'mariadb' : 'mysql';
}

/** Refuses to run against a server whose binlog cannot give complete row images. */
export async function checkServerSettings(connection: mysql.Connection): Promise<{ warnings: string[] }> {
  const [rows] = await connection.query(
    "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', 'binlog_row_image', 'binlog_row_metadata')",
  );
  const vars = new Map((rows as Row[]).map((r) => [String(r.Variable_name).toLowerCase(), String(r.Value).toUpperCase()]));
  const problems: string[] = [];
  if (vars.get('log_bin') !== 'ON') problems.push('log_bin is OFF (enable the binary log: log_bin=<basename>)');
  if (vars.get('binlog_format') !== 'ROW') problems.push(`binlog_format is ${vars.get('binlog_format') ?? 'unknown'} (needs ROW)`);
  if (vars.has('binlog_row_image') && vars.get('binlog_row_image') !== 'FULL')
    problems.push(`binlog_row_image is ${vars.get('binlog_row_image')} (needs FULL)`);
  if (problems.length > 0) {
    throw new FatalPipelineError(
      'CDC_SOURCE_SETTINGS',
      `The source server is not set up for CDC: ${problems.join('; ')}. See docs/cdc.md, "Source settings".`,
    );
  }
  const warnings: string[] = [];
  if (vars.get('binlog_row_metadata') !== 'FULL') {
    warnings.push(
      `binlog_row_metadata is ${vars.get('binlog_row_metadata') ?? 'unknown'}: set it to FULL so column changes decode from the binlog itself`,
    );
  }
  return { warnings };
}

/** The server's current binlog head (SHOW MASTER STATUS; SHOW BINARY LOG STATUS on MySQL 8.4+). */
export async function binlogHead(connection: mysql.Connection): Promise<BinlogCoordinate> {
  let rows: Row[];
  try {
    [rows] = (await connection.query('SHOW MASTER STATUS')) as unknown as [Row[]];
  } catch {
    [rows] = (await connection.query('SHOW BINARY LOG STATUS')) as unknown as [Row[]];
  }
  const row = rows[0];
  if (!row)
    throw new FatalPipelineError('CDC_SOURCE_SETTINGS', 'SHOW MASTER STATUS returned nothing: the binary log is not enabled on the source');
  return { file: String(row.File), position: Number(row.Position) };
}

/** Binlog files the server still has, oldest first. */
export async function availableBinlogs(connection: mysql.Connection): Promise<string[]> {
  const [rows] = await connection.query('SHOW BINARY LOGS');
  return (rows as Row[]).map((r) => String(r.Log_name));
}

export interface TableInfo {
  name: string;
  primaryKey: string[];
  estimatedRows: number;
}

/** Base tables of the captured database with their primary key columns, in name order. */
export async function listTables(connection: mysql.Connection, database: string): Promise<TableInfo[]> {
  const [tables] = await connection.query(
    "SELECT TABLE_NAME AS name, COALESCE(TABLE_ROWS, 0) AS estimated FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
    [database],
  );
  const keys = await primaryKeys(connection, database);
  return (tables as Row[]).map((t) => ({
    name: String(t.name),
    primaryKey: keys.get(String(t.name)) ?? [],
    estimatedRows: Number(t.estimated),
  }));
}

export async function primaryKeys(connection: mysql.Connection, database: string, table?: string): Promise<Map<string, string[]>> {
  const [rows] = await connection.query(
    `SELECT TABLE_NAME AS tbl, COLUMN_NAME AS col FROM information_schema.KEY_COLUMN_USAGE
      WHERE TABLE_SCHEMA = ? AND CONSTRAINT_NAME = 'PRIMARY' ${table ? 'AND TABLE_NAME = ?' : ''}
      ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    table ? [database, table] : [database],
  );
  const keys = new Map<string, string[]>();
  for (const r of rows as Row[]) {
    const name = String(r.tbl);
    const list = keys.get(name) ?? [];
    list.push(String(r.col));
    keys.set(name, list);
  }
  return keys;
}

/** A table's columns and their COLUMN_TYPE, in column order (the typed layout's type map input). */
export async function sourceColumns(connection: mysql.Connection, database: string, table: string): Promise<SourceColumn[]> {
  const [rows] = await connection.query(
    `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS columnType FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [database, table],
  );
  return (rows as Row[]).map((r) => ({ name: String(r.name), columnType: String(r.columnType) }));
}
