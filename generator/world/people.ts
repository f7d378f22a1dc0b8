/** Customers: who they are, where they live, and how they move and change e-mail over time. */
import type { Faker } from '@faker-js/faker';

import { type Rng, WeightedPicker } from '../random.ts';
import { slug, type FakerPool } from './fakers.ts';
import { flat } from './flat.ts';
import { COUNTRIES, DEVICE_WEIGHTS, SIGNUP_CHANNELS } from './geography.ts';
import type { Customer } from './types.ts';

const countryPicker = new WeightedPicker(COUNTRIES.map((c) => [c.code, c.share] as const));
const channelPicker = new WeightedPicker(SIGNUP_CHANNELS);
const devicePicker = new WeightedPicker(DEVICE_WEIGHTS);
const EMAIL_DOMAINS = ['example.com', 'example.net', 'example.org', 'mail.example', 'post.example'];

export function pickCountry(rng: Rng): string {
  return countryPicker.pick(rng);
}

export function pickDevice(rng: Rng): Customer['device'] {
  return devicePicker.pick(rng);
}

interface Address {
  countryCode: string;
  region: string | null;
  city: string;
  postalCode: string | null;
  streetAddress: string | null;
}

function address(faker: Faker, countryCode: string): Address {
  return {
    countryCode,
    region: cut(faker.location.state(), 100),
    city: cut(faker.location.city(), 100),
    postalCode: cut(faker.location.zipCode(), 20),
    streetAddress: cut(faker.location.streetAddress(), 200),
  };
}

function cut(text: string, max: number): string {
  return flat(text.length > max ? text.slice(0, max) : text);
}

/** Unique by construction: the customer id (and e-mail version) is part of the local part. */
export function emailFor(rng: Rng, firstName: string, lastName: string, id: number, version: number): string {
  const local = `${slug(firstName) || 'user'}.${slug(lastName) || 'shopper'}${id}${version > 0 ? `.${version}` : ''}`;
  return flat(`${local.slice(0, 200)}@${rng.pick(EMAIL_DOMAINS)}`);
}

export function newCustomer(rng: Rng, fakers: FakerPool, id: number, signedUpAt: number, insertedAt: number): Customer {
  const countryCode = pickCountry(rng);
  const faker = fakers.forCountry(countryCode);
  const firstName = cut(faker.person.firstName(), 100);
  const lastName = cut(faker.person.lastName(), 100);
  const cards = [rng.hex(8)];
  if (rng.chance(0.25)) cards.push(rng.hex(8));
  const email = emailFor(rng, firstName, lastName, id, 0);
  const phone = rng.chance(0.8) ? cut(faker.phone.number({ style: 'international' }), 40) : null;
  const where = address(faker, countryCode);
  // Every field named in the literal (no `...where`): with a spread, V8 put the later fields in a
  // separate property array, more memory per customer, and a 10x world keeps 100k of them.
  return {
    id,
    email,
    firstName,
    lastName,
    phone,
    countryCode: where.countryCode,
    region: where.region,
    city: where.city,
    postalCode: where.postalCode,
    streetAddress: where.streetAddress,
    signupChannel: channelPicker.pick(rng),
    signedUpAt,
    createdAt: insertedAt,
    updatedAt: insertedAt,
    anonymousId: rng.uuid(),
    device: devicePicker.pick(rng),
    cards,
    emailVersion: 0,
  };
}

/** A move: usually within the country, sometimes abroad. */
export function moveCustomer(rng: Rng, fakers: FakerPool, customer: Customer, at: number): void {
  const countryCode = rng.chance(0.9) ? customer.countryCode : pickCountry(rng);
  Object.assign(customer, address(fakers.forCountry(countryCode), countryCode));
  customer.updatedAt = at;
}

export function changeEmail(rng: Rng, customer: Customer, at: number): void {
  customer.emailVersion += 1;
  customer.email = emailFor(rng, customer.firstName, customer.lastName, customer.id, customer.emailVersion);
  customer.updatedAt = at;
}
