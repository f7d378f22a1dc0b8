/**
 * One seeded Faker per country locale. Reseeded at the start of every simulation step from the
 * run seed and the step's label, so a step's names and addresses do not depend on earlier steps.
 */
import type { Faker } from '@faker-js/faker';

import { hash32 } from '../random.ts';
import { COUNTRIES } from './geography.ts';

export class FakerPool {
  readonly #byCountry = new Map<string, { faker: Faker; seededFor: string }>();
  readonly #seed: number;
  #label = '';

  constructor(seed: number) {
    this.#seed = seed;
    for (const country of COUNTRIES) this.#byCountry.set(country.code, { faker: ownCopy(country.locale), seededFor: '' });
  }

  /** Starts a new step. Seeding is lazy (seeding Faker costs ~0.1 ms), done on a locale's first use in the step. */
  reseed(...labels: (string | number)[]): void {
    this.#label = labels.join('\u0001');
  }

  forCountry(code: string): Faker {
    const entry = this.#byCountry.get(code) ?? this.#byCountry.get('US')!;
    if (entry.seededFor !== this.#label) {
      entry.faker.seed(hash32(this.#seed, 'faker', code, this.#label));
      entry.seededFor = this.#label;
    }
    return entry.faker;
  }
}

/**
 * A Faker of its own over the same locale data as `template` (its merged locale chain), so
 * seeding it cannot disturb another run's sequence.
 */
function ownCopy(template: Faker): Faker {
  const FakerClass = template.constructor as new (options: { locale: Faker['rawDefinitions'] }) => Faker;
  return new FakerClass({ locale: template.rawDefinitions });
}

/** Lowercase ASCII letters and digits only, for e-mail local parts. */
export function slug(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '');
}
