/**
 * A customer as the simulation keeps one for the whole run. A 10x world holds 100,000 of them, so
 * the text (names, e-mail, phone, address, cookie id, card fingerprints) lives in one flat string
 * per customer instead of ten: each V8 string costs a 16-byte header plus padding, and the
 * object a pointer per field. Reading a field cuts it out of that string; fields are read when a
 * row is written or an order is placed, not in any inner loop.
 */
import { flat } from './flat.ts';

export type Device = 'desktop' | 'mobile' | 'tablet';

export interface Address {
  countryCode: string;
  region: string | null;
  city: string;
  postalCode: string | null;
  streetAddress: string | null;
}

export interface CustomerFields extends Address {
  id: number;
  email: string;
  firstName: string;
  lastName: string;
  phone: string | null;
  signupChannel: string;
  signedUpAt: number;
  createdAt: number;
  updatedAt: number;
  /** Browser cookie id used on the customer's sessions. */
  anonymousId: string;
  device: Device;
  /** Card fingerprints the customer pays with (16 hex chars each). */
  cards: string[];
  /** Changes of e-mail so far (keeps new addresses unique). */
  emailVersion: number;
}

// Generated text (Faker names and addresses, e-mail slugs, hex, uuids) has no control characters,
// so they can separate fields and mark a null; text that has one (a row loaded in live mode) is
// refused by pack() with the value named.
const SEP = '\u0000';
const NULL = '\u0001';
const CARD_SEP = ',';

/** Position of each text field in the packed string. */
const Field = {
  Email: 0,
  FirstName: 1,
  LastName: 2,
  Phone: 3,
  Region: 4,
  City: 5,
  PostalCode: 6,
  StreetAddress: 7,
  AnonymousId: 8,
  Cards: 9,
} as const;
type Field = (typeof Field)[keyof typeof Field];

export class Customer {
  readonly id: number;
  countryCode: string;
  readonly signupChannel: string;
  readonly device: Device;
  readonly signedUpAt: number;
  readonly createdAt: number;
  updatedAt: number;
  emailVersion: number;
  #text: string;

  constructor(f: CustomerFields) {
    this.id = f.id;
    this.countryCode = f.countryCode;
    this.signupChannel = f.signupChannel;
    this.device = f.device;
    this.signedUpAt = f.signedUpAt;
    this.createdAt = f.createdAt;
    this.updatedAt = f.updatedAt;
    this.emailVersion = f.emailVersion;
    this.#text = pack([
      f.email,
      f.firstName,
      f.lastName,
      f.phone,
      f.region,
      f.city,
      f.postalCode,
      f.streetAddress,
      f.anonymousId,
      f.cards.join(CARD_SEP),
    ]);
  }

  get email(): string {
    return this.#field(Field.Email)!;
  }
  get firstName(): string {
    return this.#field(Field.FirstName)!;
  }
  get lastName(): string {
    return this.#field(Field.LastName)!;
  }
  get phone(): string | null {
    return this.#field(Field.Phone);
  }
  get region(): string | null {
    return this.#field(Field.Region);
  }
  get city(): string {
    return this.#field(Field.City)!;
  }
  get postalCode(): string | null {
    return this.#field(Field.PostalCode);
  }
  get streetAddress(): string | null {
    return this.#field(Field.StreetAddress);
  }
  get anonymousId(): string {
    return this.#field(Field.AnonymousId)!;
  }
  get cards(): string[] {
    return this.#field(Field.Cards)!.split(CARD_SEP);
  }

  /** A move: the new address, from `at`. */
  moveTo(address: Address, at: number): void {
    this.countryCode = address.countryCode;
    this.#replace({
      [Field.Region]: address.region,
      [Field.City]: address.city,
      [Field.PostalCode]: address.postalCode,
      [Field.StreetAddress]: address.streetAddress,
    });
    this.updatedAt = at;
  }

  /** A new e-mail address (the next version), from `at`. */
  changeEmail(email: string, at: number): void {
    this.emailVersion += 1;
    this.#replace({ [Field.Email]: email });
    this.updatedAt = at;
  }

  #field(index: Field): string | null {
    const text = this.#text;
    let start = 0;
    for (let i = 0; i < index; i++) start = text.indexOf(SEP, start) + 1;
    const end = text.indexOf(SEP, start);
    const value = text.slice(start, end === -1 ? text.length : end);
    return value === NULL ? null : value;
  }

  #replace(changes: Partial<Record<Field, string | null>>): void {
    const fields: (string | null)[] = this.#text.split(SEP).map((v) => (v === NULL ? null : v));
    for (const [index, value] of Object.entries(changes)) fields[Number(index)] = value ?? null;
    this.#text = pack(fields);
  }
}

function pack(fields: (string | null)[]): string {
  for (const v of fields) {
    if (v !== null && (v.includes(SEP) || v === NULL))
      throw new Error(`customer text may not contain control characters U+0000 or a lone U+0001: ${JSON.stringify(v)}`);
  }
  return flat(fields.map((v) => v ?? NULL).join(SEP));
}
