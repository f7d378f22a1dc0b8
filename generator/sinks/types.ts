/** Where a generated batch goes. Each sink applies a whole batch or throws. */
import type { Batch } from '../world/batch.ts';

export interface Sink {
  readonly name: string;
  write(batch: Batch): Promise<void>;
  close(): Promise<void>;
}
