import type { PaymentMethod } from '../payment-method';
import creditCard from './credit-card';
import debitCard from './debit-card';
import pix from './pix';

/**
 * Every payment method the checkout accepts. Validation, the OpenAPI document and the workers all
 * read this list, so adding a method is its file plus one line here.
 */
export const paymentMethods: ReadonlyMap<string, PaymentMethod> = new Map(
  [creditCard, debitCard, pix].map((method) => [method.name, method]),
);

export function paymentMethod(name: string): PaymentMethod {
  const method = paymentMethods.get(name);
  if (!method) throw new Error(`Unknown payment method ${name}`);
  return method;
}
