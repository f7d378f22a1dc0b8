/**
 * `npm run forecast` refuses bad flags before it starts Python or touches the warehouse
 * (exit 2 through the CLI runner's UsageError), and passes good ones on unchanged.
 */
import { describe, expect, it } from 'vitest';

import { UsageError } from '../../lib/errors.ts';
import { parseForecastArgs } from '../../forecast/args.ts';

describe('npm run forecast flags', () => {
  it('takes an as-of date, history, seed and run id', () => {
    expect(
      parseForecastArgs(['--as-of', '2025-11-30', '--history', '8', '--seed', '7', '--run-id', '0f8fad5b-d9cb-469f-a165-70867728950e']),
    ).toEqual({
      json: false,
      asOf: '2025-11-30',
      history: 8,
      seed: 7,
      runId: '0f8fad5b-d9cb-469f-a165-70867728950e',
    });
    expect(parseForecastArgs([])).toEqual({ json: false });
  });

  it.each([
    [['--as-of', '2025-13-01']],
    [['--as-of', 'yesterday']],
    [['--history', '-1']],
    [['--history', '53']],
    [['--seed', '1.5']],
    [['--run-id', 'not-a-uuid']],
    [['--horizon', '7']],
  ])('rejects %j as a usage error', (argv) => {
    expect(() => parseForecastArgs(argv)).toThrow(UsageError);
  });
});
