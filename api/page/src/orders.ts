import type { Order, OrderStatus } from './api-client.js';
import { el } from './dom.js';
import { formatMoney, formatWhen } from './format.js';

const STATUS: Record<OrderStatus, string> = {
  processing: 'Payment in progress',
  paid: 'Paid: these are your tickets',
  declined: 'Payment declined: nothing was charged',
  refunded: 'Refunded',
  failed: 'Not completed: the payment was refunded',
};

const METHOD: Record<string, string> = {
  pix: 'Pix',
  credit_card: 'Credit card',
  debit_card: 'Debit card',
};

const seatLabels = (order: Order) =>
  order.receipt?.seats?.join(', ') ?? order.seats.map((s) => s.label).join(', ');

/** An order as its buyer reads it: what, where, when, which seats, how much, how paid. */
export function orderDetails(order: Order): HTMLElement[] {
  const { receipt } = order;
  const card = order.cardLast4 ? ` ending ${order.cardLast4}` : '';
  const pairs: [string, string | undefined][] = [
    ['Movie', receipt?.movie],
    ['Room', receipt?.room],
    ['Starts', receipt?.startsAt && formatWhen(receipt.startsAt)],
    ['Seats', seatLabels(order)],
    ['Total', formatMoney(order.totalCents, order.currency)],
    ['Paid with', `${METHOD[order.method] ?? order.method}${card}`],
    ['Paid at', order.paidAt ? formatWhen(order.paidAt) : undefined],
    ['Order', order.orderId],
  ];
  return pairs.flatMap(([term, value]) => (value ? [el('dt', {}, term), el('dd', {}, value)] : []));
}

export const orderStatus = (order: Order) => STATUS[order.status];

/** One line of the buyer's history, linking to the order. */
export function historyItem(order: Order): HTMLLIElement {
  const what = order.receipt?.movie ?? 'Order';
  const when = order.receipt?.startsAt ? ` · ${formatWhen(order.receipt.startsAt)}` : '';
  return el(
    'li',
    { attrs: { 'data-order': order.orderId, 'data-status': order.status } },
    el('a', { attrs: { href: `/?order=${order.orderId}` } }, `${what}${when}`),
    el(
      'span',
      {},
      ` · seats ${seatLabels(order)} · ${formatMoney(order.totalCents, order.currency)} · `,
    ),
    el('strong', {}, order.status),
  );
}
