import Joi from 'joi';
import type { PaymentMethod } from './payment-method';
import { simulatedGateway } from './simulated-gateway';

/** The test card every simulated card gateway declines (§4.3). */
export const DECLINED_TEST_CARD = '4000000000000002';

export function passesLuhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** A card is usable through the last day of its expiry month. */
export function isExpired(expMonth: number, expYear: number, now = new Date()): boolean {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth() + 1;
  return expYear < year || (expYear === year && expMonth < month);
}

/**
 * The holder's name is text, not bytes: no control characters, no lone UTF-16 surrogates (the
 * same rules as api/http/schemas.ts `text()`, which shared/ cannot import).
 */
const holderNameSchema = Joi.string()
  .normalize('NFC')
  .trim()
  .min(2)
  .max(100)
  .custom((value: string, helpers) =>
    /\p{Cc}/u.test(value)
      ? helpers.error('text.control')
      : /\p{Cs}/u.test(value)
        ? helpers.error('text.surrogate')
        : value,
  )
  .messages({
    'text.control': '{{#label}} must not contain control characters',
    'text.surrogate':
      '{{#label}} must not contain unpaired UTF-16 surrogates (it is not valid Unicode)',
  });

export const cardSchema = Joi.object({
  number: Joi.string()
    .replace(/[\s-]/g, '')
    .pattern(/^\d{12,19}$/)
    .custom((value: string, helpers) => (passesLuhn(value) ? value : helpers.error('card.luhn')))
    .required(),
  holderName: holderNameSchema.required(),
  expMonth: Joi.number().integer().min(1).max(12).required(),
  expYear: Joi.number().integer().min(2000).max(2100).required(),
  cvv: Joi.string()
    .pattern(/^\d{3,4}$/)
    .required(),
})
  .custom((card: { expMonth: number; expYear: number }, helpers) =>
    isExpired(card.expMonth, card.expYear) ? helpers.error('card.expired') : card,
  )
  .messages({
    'card.luhn': '{{#label}} is not a valid card number',
    'card.expired': 'the card has expired',
  });

interface CardFields {
  card: { number: string };
}

/** Credit and debit cards differ only in name here: one strategy shape, two files. */
export function cardMethod(name: string): PaymentMethod {
  return {
    name,
    fields: { card: cardSchema.required() },
    prepare(fields) {
      const { number } = (fields as unknown as CardFields).card;
      const last4 = number.slice(-4);
      const outcome = number === DECLINED_TEST_CARD ? 'decline' : 'approve';
      return { method: name, token: simulatedGateway.tokenize(outcome, last4), cardLast4: last4 };
    },
    charge: (request) => simulatedGateway.charge(request),
    refund: (payment) => simulatedGateway.refund(payment),
  };
}
