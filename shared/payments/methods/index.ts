import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { PaymentMethod } from '../payment-method';

/**
 * Every payment method: each other file in this folder default-exports one, so a new method is
 * one new file and nothing else changes (validation, OpenAPI, workers all read this list).
 */
function discover(): ReadonlyMap<string, PaymentMethod> {
  const methods = new Map<string, PaymentMethod>();
  for (const file of readdirSync(__dirname).sort()) {
    if (!/\.(ts|js)$/.test(file) || /^index\.|\.d\.ts$|\.test\./.test(file)) continue;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const method = (require(path.join(__dirname, file)) as { default: PaymentMethod }).default;
    methods.set(method.name, method);
  }
  return methods;
}

export const paymentMethods = discover();

export function paymentMethod(name: string): PaymentMethod {
  const method = paymentMethods.get(name);
  if (!method) throw new Error(`Unknown payment method ${name}`);
  return method;
}
