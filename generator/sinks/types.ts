/** Where a generated batch goes. Each sink applies a whole batch or throws. */
import type { Batch } from '../world/batch.ts';

export interface Sink {
  readonly name: string;
  /** Takes a whole batch or throws. A sink may hold some of it back until flush(). */
  write(batch: Batch): Promise<void>;
  /** Everything written so far is stored (or this throws). */
  flush(): Promise<void>;
  close(): Promise<void>;
}
