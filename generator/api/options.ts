/** The shop API's settings and its `--faults` syntax (`500=0.05,429=0.05,slow=0.02,truncate=0.02`). */
import { UsageError } from '../../lib/errors.ts';

export const FAULT_KINDS = ['500', '429', 'slow', 'truncate'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface ShopApiOptions {
  host: string;
  /** 0: any free port (tests read the URL back). */
  port: number;
  /** The bearer token a request must carry; null: no auth. */
  token: string | null;
  /** Token-bucket refill per second; 0: no rate limit. */
  ratePerSecond: number;
  burst: number;
  /** Probability of each injected fault per request (their sum at most 1). */
  faults: Partial<Record<FaultKind, number>>;
  /** How long a `slow` answer waits before it is sent. */
  slowMs: number;
  seed: number;
}

export function parseFaults(text: string): Partial<Record<FaultKind, number>> {
  const faults: Partial<Record<FaultKind, number>> = {};
  if (text.trim() === '' || text === 'none') return faults;
  for (const part of text.split(',')) {
    const [kind, p] = part.split('=').map((s) => s.trim());
    if (!FAULT_KINDS.includes(kind as FaultKind))
      throw new UsageError(`--faults: unknown fault "${kind}"; known: ${FAULT_KINDS.join(', ')}`);
    const probability = Number(p);
    if (!(probability >= 0 && probability <= 1)) throw new UsageError(`--faults: ${kind}=${p} is not a probability between 0 and 1`);
    faults[kind as FaultKind] = probability;
  }
  const total = Object.values(faults).reduce((a, b) => a + b, 0);
  if (total > 1) throw new UsageError(`--faults: the probabilities add up to ${total}, more than 1`);
  return faults;
}
