/**
 * Where customers live: country shares, the Faker locale that names their streets and cities,
 * the sales-tax / VAT rate and the flat shipping fee charged below the free-shipping threshold.
 */
import { de, en, en_AU, en_CA, en_GB, en_US, es, fr, it, ja, nl, pl, pt_BR, sv, base, type LocaleDefinition } from '@faker-js/faker';

export interface CountrySpec {
  code: string;
  share: number;
  locale: LocaleDefinition[];
  /** Tax rate in basis points (1/100 of a percent) applied to subtotal - discount. */
  taxBasisPoints: number;
  shippingCents: number;
  /** Typical delivery time after shipping, in days. */
  deliveryDays: readonly [number, number];
}

export const COUNTRIES: readonly CountrySpec[] = [
  { code: 'US', share: 0.38, locale: [en_US, en, base], taxBasisPoints: 725, shippingCents: 599, deliveryDays: [2, 6] },
  { code: 'GB', share: 0.12, locale: [en_GB, en, base], taxBasisPoints: 2000, shippingCents: 499, deliveryDays: [2, 5] },
  { code: 'DE', share: 0.1, locale: [de, en, base], taxBasisPoints: 1900, shippingCents: 599, deliveryDays: [2, 5] },
  { code: 'FR', share: 0.07, locale: [fr, en, base], taxBasisPoints: 2000, shippingCents: 699, deliveryDays: [3, 6] },
  { code: 'CA', share: 0.06, locale: [en_CA, en, base], taxBasisPoints: 1300, shippingCents: 899, deliveryDays: [3, 8] },
  { code: 'AU', share: 0.05, locale: [en_AU, en, base], taxBasisPoints: 1000, shippingCents: 999, deliveryDays: [4, 9] },
  { code: 'NL', share: 0.04, locale: [nl, en, base], taxBasisPoints: 2100, shippingCents: 599, deliveryDays: [2, 5] },
  { code: 'ES', share: 0.04, locale: [es, en, base], taxBasisPoints: 2100, shippingCents: 699, deliveryDays: [3, 7] },
  { code: 'IT', share: 0.04, locale: [it, en, base], taxBasisPoints: 2200, shippingCents: 699, deliveryDays: [3, 7] },
  { code: 'SE', share: 0.03, locale: [sv, en, base], taxBasisPoints: 2500, shippingCents: 799, deliveryDays: [3, 7] },
  { code: 'PL', share: 0.03, locale: [pl, en, base], taxBasisPoints: 2300, shippingCents: 699, deliveryDays: [3, 7] },
  { code: 'BR', share: 0.02, locale: [pt_BR, en, base], taxBasisPoints: 1700, shippingCents: 1499, deliveryDays: [6, 14] },
  { code: 'JP', share: 0.02, locale: [ja, en, base], taxBasisPoints: 1000, shippingCents: 1299, deliveryDays: [4, 10] },
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

export const REFERRERS = [
  [null, 0.4],
  ['https://www.google.com/', 0.3],
  ['https://www.instagram.com/', 0.08],
  ['https://www.facebook.com/', 0.07],
  ['https://mail.shopflow.example/newsletter', 0.08],
  ['https://partner.example.com/deals', 0.07],
] as const;
