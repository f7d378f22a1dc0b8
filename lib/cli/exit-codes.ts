/**
 * The exit codes every ShopFlow command uses (docs/operations.md#exit-codes). One table so a
 * script or supervisor can tell "fix your flags" from "start the database" from "it failed".
 */
export const EXIT = {
  /** Done, or nothing needed doing. */
  ok: 0,
  /** The work failed (a dbt model, a gate, a step), or `status` found something that needs attention. */
  failed: 1,
  /** Bad flag or bad configuration value: nothing was attempted. */
  usage: 2,
  /** A service (Postgres, MariaDB, Kafka, SMTP, Superset) could not be reached: sysexits' EX_UNAVAILABLE. */
  unavailable: 69,
  /**
   * A watched disk is nearly full (DISK_STOP_FREE_MB): the process stopped cleanly before Postgres
   * or the broker ran out; free space, then start it again. Supervisors do not restart on it.
   * sysexits' EX_CANTCREAT.
   */
  diskLow: 73,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
