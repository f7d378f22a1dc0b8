/**
 * Which local processes hold a warehouse session: Postgres names each session's client port
 * (pg_stat_activity, read as the superuser), and /proc says which process owns the socket on
 * that port. This is how reset finds the ingestors it must stop: by the sessions and advisory
 * locks they hold, never by process name.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

import type pg from 'pg';

export interface Holder {
  applicationName: string;
  clientAddress: string | null;
  clientPort: number | null;
  /** The local process owning the client socket, when it runs on this host (and network namespace). */
  pid: number | null;
}

const LOCAL = new Set(['127.0.0.1', '::1', null]);

/** Socket inodes by local port, from /proc/net/tcp and tcp6 (this network namespace). */
function socketInodes(): Map<number, string[]> {
  const byPort = new Map<number, string[]>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const port = Number.parseInt(fields[1]!.split(':')[1]!, 16);
      byPort.set(port, [...(byPort.get(port) ?? []), fields[9]!]);
    }
  }
  return byPort;
}

/** The pid whose open files include one of these socket inodes. */
function ownerOf(inodes: string[]): number | null {
  const wanted = new Set(inodes.map((i) => `socket:[${i}]`));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (wanted.has(readlinkSync(`/proc/${entry}/fd/${fd}`))) return Number(entry);
      } catch {
        // The descriptor closed while we looked.
      }
    }
  }
  return null;
}

/** Sessions on this database whose application_name is one of `names`, with their local pid if any. */
export async function sessionHolders(admin: pg.Client, names: readonly string[]): Promise<Holder[]> {
  const { rows } = await admin.query<{ application_name: string; client_addr: string | null; client_port: number | null }>(
    'select application_name, host(client_addr) as client_addr, client_port from pg_stat_activity where datname = current_database() and application_name = any($1) and pid <> pg_backend_pid()',
    [names],
  );
  const inodes = socketInodes();
  return rows.map((r) => {
    const local = LOCAL.has(r.client_addr) && r.client_port !== null && r.client_port > 0;
    return {
      applicationName: r.application_name,
      clientAddress: r.client_addr,
      clientPort: r.client_port,
      pid: local ? ownerOf(inodes.get(r.client_port!) ?? []) : null,
    };
  });
}
