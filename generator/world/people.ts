/** Customers: who they are, where they live, and how they move and change e-mail over time. */
import type { Faker } from '@faker-js/faker';

import { type Rng, WeightedPicker } from '../random.ts';
import { slug, type FakerPool } from './fakers.ts';
import { flat } from './flat.ts';
import { COUNTRIES, DEVICE_WEIGHTS, SIGNUP_CHANNELS } from './geography.ts';
import { Customer, type Address, type Device } from './customer.ts';

const countryPicker = new WeightedPicker(COUNTRIES.map((c) => [c.code, c.share] as const));
const channelPicker = new WeightedPicker(SIGNUP_CHANNELS);
const devicePicker = new WeightedPicker(DEVICE_WEIGHTS);
const EMAIL_DOMAINS = ['example.com', 'example.net', 'example.org', 'mail.example', 'post.example'];

export function pickCountry(rng: Rng): string {
  return countryPicker.pick(rng);
}

export function pickDevice(rng: Rng): Device {
  return devicePicker.pick(rng);
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
  return new Customer({
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
  });
}

/** A move: usually within the country, sometimes abroad. */
export function moveCustomer(rng: Rng, fakers: FakerPool, customer: Customer, at: number): void {
  const countryCode = rng.chance(0.9) ? customer.countryCode : pickCountry(rng);
  customer.moveTo(address(fakers.forCountry(countryCode), countryCode), at);
}

export function changeEmail(rng: Rng, customer: Customer, at: number): void {
  customer.changeEmail(emailFor(rng, customer.firstName, customer.lastName, customer.id, customer.emailVersion + 1), at);
}
