/**
 * How numbers are written: integral fields as plain integers, money with at most 2 decimals and
 * no exponent. A `2.0` for an integer once landed and failed every later dbt build.
 */
import { describe, expect, it } from 'vitest';

import { numberSpellingProblem } from '../../../lib/events/wire.ts';

const base = '{"schema_version":1,"page_url":"https://x/?a=1.5","customer_id":null,"price":19.99,"quantity":2}';

describe('numberSpellingProblem', () => {
  it('passes numbers written as the contract says, and numbers inside strings', () => {
    for (const text of [
      base,
      base.replace('19.99', '19.9'),
      base.replace('19.99', '0'),
      base.replace('19.99', '-0'),
      base.replace('"https://x/?a=1.5"', '"\\"quantity\\":2.0 and \\\\"'),
      '{ "quantity" : 7 , "price" : 1.50 }',
    ]) {
      expect(numberSpellingProblem(text), text).toBeNull();
    }
  });

  it.each([
    ['integer with a fraction', base.replace('"quantity":2', '"quantity":2.0'), 'quantity', '2.0'],
    ['integer with an exponent', base.replace('"quantity":2', '"quantity":2e0'), 'quantity', '2e0'],
    ['schema_version 1.0', base.replace('"schema_version":1', '"schema_version":1.0'), 'schema_version', '1.0'],
    ['money with 3 decimals', base.replace('19.99', '19.990'), 'price', '19.990'],
    ['money with an exponent', base.replace('19.99', '1E2'), 'price', '1E2'],
    ['money with a signed exponent', base.replace('19.99', '1.5e-1'), 'price', '1.5e-1'],
    ['a key written with an escape', base.replace('"quantity":2', '"quant\\u0069ty":2.0'), 'quantity', '2.0'],
    ['the last of a duplicated key', base.replace('"quantity":2', '"quantity":2,"quantity":2.0'), 'quantity', '2.0'],
    ['whitespace around the colon', base.replace('"quantity":2', '"quantity" :\t2.00'), 'quantity', '2.00'],
  ])('refuses %s', (_name, text, field, written) => {
    expect(numberSpellingProblem(text)).toMatchObject({ field, written });
  });
});
