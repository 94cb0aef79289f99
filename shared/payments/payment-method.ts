import type Joi from 'joi';

/**
 * What the API keeps of a payment request after the method has checked it: an opaque token the
 * gateway can charge, and at most the card's last four digits. Card numbers and CVVs never go
 * further than the method's `prepare` (not into Redis, BullMQ, Postgres or a log line).
 */
export interface PreparedPayment {
  method: string;
  token: string;
  cardLast4: string | null;
}

export interface ChargeRequest {
  token: string;
  amountCents: number;
  currency: string;
  /** Our order id: charging twice with one reference is one charge (the gateway dedupes). */
  reference: string;
}

export type ChargeResult =
  | { approved: true; gatewayReference: string }
  | { approved: false; gatewayReference: string; reason: string };

/**
 * A way to pay. Each method is one file in methods/, listed in methods/index.ts: adding a
 * method is adding that file and its line in the list.
 */
export interface PaymentMethod {
  /** The `method` value clients send, e.g. "credit_card". */
  name: string;
  /** Joi schema of the method's own fields in the request body (e.g. `card`), if any. */
  fields: Record<string, Joi.Schema>;
  /** Validates what the client sent and exchanges it for a chargeable token. */
  prepare(fields: Record<string, unknown>): PreparedPayment;
  charge(request: ChargeRequest): Promise<ChargeResult>;
  refund(payment: {
    gatewayReference: string;
    amountCents: number;
  }): Promise<{ refundReference: string }>;
}
