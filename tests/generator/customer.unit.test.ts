/** The packed customer: every field reads back as written, nulls stay null, moves and e-mail changes replace only their fields. */
import { describe, expect, it } from 'vitest';

import { Customer, type CustomerFields } from '../../generator/world/customer.ts';

function fields(overrides: Partial<CustomerFields> = {}): CustomerFields {
  return {
    id: 7,
    email: 'zofia.wojcik7@example.com',
    firstName: 'Zofia',
    lastName: 'Wójcik',
    phone: '+48 22 123 45 67',
    countryCode: 'PL',
    region: 'mazowieckie',
    city: 'Łódź',
    postalCode: '00-950',
    streetAddress: 'ul. Świętokrzyska 12',
    signupChannel: 'organic',
    signedUpAt: 1_700_000_000_123.5,
    createdAt: 1_700_000_000_124,
    updatedAt: 1_700_000_000_125,
    anonymousId: '6f1c1f8e-6b0e-4d8e-9d3c-2c1a7f9b0e11',
    device: 'mobile',
    cards: ['0123456789abcdef', 'fedcba9876543210'],
    emailVersion: 0,
    ...overrides,
  };
}

function read(c: Customer): CustomerFields {
  return {
    id: c.id,
    email: c.email,
    firstName: c.firstName,
    lastName: c.lastName,
    phone: c.phone,
    countryCode: c.countryCode,
    region: c.region,
    city: c.city,
    postalCode: c.postalCode,
    streetAddress: c.streetAddress,
    signupChannel: c.signupChannel,
    signedUpAt: c.signedUpAt,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    anonymousId: c.anonymousId,
    device: c.device,
    cards: c.cards,
    emailVersion: c.emailVersion,
  };
}

describe('Customer', () => {
  it('reads back every field, including non-Latin text and two cards', () => {
    expect(read(new Customer(fields()))).toEqual(fields());
  });

  it('keeps nulls and empty strings apart', () => {
    const f = fields({ phone: null, region: null, postalCode: '', streetAddress: null, cards: ['00000000000000ff'] });
    expect(read(new Customer(f))).toEqual(f);
  });

  it('a move replaces the address and nothing else', () => {
    const c = new Customer(fields());
    c.moveTo({ countryCode: 'DE', region: null, city: 'Köln', postalCode: '50667', streetAddress: null }, 1_800_000_000_000);
    expect(read(c)).toEqual(
      fields({ countryCode: 'DE', region: null, city: 'Köln', postalCode: '50667', streetAddress: null, updatedAt: 1_800_000_000_000 }),
    );
  });

  it('an e-mail change bumps the version and replaces the address only', () => {
    const c = new Customer(fields());
    c.changeEmail('zofia.wojcik7.1@example.net', 1_800_000_000_001);
    expect(read(c)).toEqual(fields({ email: 'zofia.wojcik7.1@example.net', emailVersion: 1, updatedAt: 1_800_000_000_001 }));
  });

  it('rejects text that would break the packing, naming it', () => {
    expect(() => new Customer(fields({ city: 'bad\u0000city' }))).toThrow(/control characters.*bad\\u0000city/);
    expect(() => new Customer(fields({ region: '\u0001' }))).toThrow(/control characters/);
  });
});
