/**
 * Whether a test in the current file has failed, so the factories keep that file's databases
 * and topics for inspection instead of dropping them. tests/setup/track-failures.ts feeds it.
 */
let failedInThisFile = false;

export function markFailed(): void {
  failedInThisFile = true;
}

export function hasFailed(): boolean {
  return failedInThisFile;
}

/** Print where kept data is, once per resource, on stderr (vitest shows it with the failure). */
export function reportKept(what: string, how: string): void {
  process.stderr.write(`kept ${what} for inspection because a test in this file failed (${how})\n`);
}
