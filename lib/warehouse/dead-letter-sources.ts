/**
 * Who may write raw.dead_letters: one value per ingestor, in the `source` column. This is the
 * list's one home. The warehouse's check constraint (the latest migration that sets
 * dead_letters_source_check) and dbt's accepted_values on the column are tested against it
 * (tests/contracts/warehouse-contracts.unit.test.ts); each ingestor writes its value from here.
 */
export const DEAD_LETTER_SOURCE = {
  kafka: 'kafka',
  cdc: 'cdc',
  files: 'files',
  api: 'api',
} as const;

export type DeadLetterSource = (typeof DEAD_LETTER_SOURCE)[keyof typeof DEAD_LETTER_SOURCE];

export const DEAD_LETTER_SOURCES: readonly DeadLetterSource[] = Object.values(DEAD_LETTER_SOURCE);
