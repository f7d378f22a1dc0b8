/**
 * Where customers live: country shares, the Faker locale that names their streets and cities,
 * the sales-tax / VAT rate and the flat shipping fee charged below the free-shipping threshold.
 */
import type { Faker } from '@faker-js/faker';
// Each locale's own entry point (its Faker over [locale, en, base]), not the package index: the
// index loads all ~70 locales, about 20 MB of heap the generator never uses.
import { faker as de } from '@faker-js/faker/locale/de';
import { faker as en_AU } from '@faker-js/faker/locale/en_AU';
import { faker as en_CA } from '@faker-js/faker/locale/en_CA';
import { faker as en_GB } from '@faker-js/faker/locale/en_GB';
import { faker as en_US } from '@faker-js/faker/locale/en_US';
import { faker as es } from '@faker-js/faker/locale/es';
import { faker as fr } from '@faker-js/faker/locale/fr';
import { faker as it } from '@faker-js/faker/locale/it';
import { faker as ja } from '@faker-js/faker/locale/ja';
import { faker as nl } from '@faker-js/faker/locale/nl';
import { faker as pl } from '@faker-js/faker/locale/pl';
import { faker as pt_BR } from '@faker-js/faker/locale/pt_BR';
import { faker as sv } from '@faker-js/faker/locale/sv';

export interface CountrySpec {
  code: string;
  share: number;
  /** A Faker for the country's locale; the simulation makes its own seeded copies (world/fakers.ts). */
  locale: Faker;
  /** Tax rate in basis points (1/100 of a percent) applied to subtotal - discount. */
  taxBasisPoints: number;
  shippingCents: number;
  /** Typical delivery time after shipping, in days. */
  deliveryDays: readonly [number, number];
}

export const COUNTRIES: readonly CountrySpec[] = [
  { code: 'US', share: 0.38, locale: en_US, taxBasisPoints: 725, shippingCents: 599, deliveryDays: [2, 6] },
  { code: 'GB', share: 0.12, locale: en_GB, taxBasisPoints: 2000, shippingCents: 499, deliveryDays: [2, 5] },
  { code: 'DE', share: 0.1, locale: de, taxBasisPoints: 1900, shippingCents: 599, deliveryDays: [2, 5] },
  { code: 'FR', share: 0.07, locale: fr, taxBasisPoints: 2000, shippingCents: 699, deliveryDays: [3, 6] },
  { code: 'CA', share: 0.06, locale: en_CA, taxBasisPoints: 1300, shippingCents: 899, deliveryDays: [3, 8] },
  { code: 'AU', share: 0.05, locale: en_AU, taxBasisPoints: 1000, shippingCents: 999, deliveryDays: [4, 9] },
  { code: 'NL', share: 0.04, locale: nl, taxBasisPoints: 2100, shippingCents: 599, deliveryDays: [2, 5] },
  { code: 'ES', share: 0.04, locale: es, taxBasisPoints: 2100, shippingCents: 699, deliveryDays: [3, 7] },
  { code: 'IT', share: 0.04, locale: it, taxBasisPoints: 2200, shippingCents: 699, deliveryDays: [3, 7] },
  { code: 'SE', share: 0.03, locale: sv, taxBasisPoints: 2500, shippingCents: 799, deliveryDays: [3, 7] },
  { code: 'PL', share: 0.03, locale: pl, taxBasisPoints: 2300, shippingCents: 699, deliveryDays: [3, 7] },
  { code: 'BR', share: 0.02, locale: pt_BR, taxBasisPoints: 1700, shippingCents: 1499, deliveryDays: [6, 14] },
  { code: 'JP', share: 0.02, locale: ja, taxBasisPoints: 1000, shippingCents: 1299, deliveryDays: [4, 10] },
];

export const COUNTRY_BY_CODE: ReadonlyMap<string, CountrySpec> = new Map(COUNTRIES.map((c) => [c.code, c]));

export function countrySpec(code: string): CountrySpec {
  return COUNTRY_BY_CODE.get(code) ?? COUNTRIES[0]!;
}

export const SIGNUP_CHANNELS = [
  ['organic', 0.38],
  ['paid_search', 0.22],
  ['social', 0.15],
  ['email', 0.1],
  ['referral', 0.1],
  ['affiliate', 0.05],
] as const;

export const DEVICE_WEIGHTS = [
  ['mobile', 0.5],
  ['desktop', 0.42],
  ['tablet', 0.08],
] as const;

export const PAYMENT_METHODS = [
  ['card', 0.62],
  ['paypal', 0.18],
  ['apple_pay', 0.08],
  ['google_pay', 0.06],
  ['bank_transfer', 0.04],
  ['gift_card', 0.02],
] as const;
