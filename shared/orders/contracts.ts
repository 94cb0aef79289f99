/**
 * Message contracts of the sale (§5), shared by their publishers and consumers. Every body is
 * the `data` of an EventEnvelope (shared/events.ts).
 */

/** `payment.approved`: published by the payment worker, consumed by the finaliser. */
export interface PaymentApproved {
  orderId: string;
  holdId: string;
  sessionId: string;
  userId: string;
  seatIds: string[];
  totalCents: number;
  currency: string;
  method: string;
  cardLast4: string | null;
  gatewayReference: string;
  /** When the buyer asked to pay (epoch ms); the order's createdAt. */
  requestedAt: number;
}

/** `order.completed`: the sale, committed in Postgres; consumed by the notifier. */
export interface OrderCompleted {
  orderId: string;
  userId: string;
  sessionId: string;
  seatIds: string[];
  totalCents: number;
  currency: string;
  paidAt: string;
}
