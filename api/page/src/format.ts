const money = new Intl.NumberFormat('pt-BR', { style: 'currency', currency: 'BRL' });
const when = new Intl.DateTimeFormat('en-GB', {
  weekday: 'short',
  day: 'numeric',
  month: 'short',
  hour: '2-digit',
  minute: '2-digit',
});

/** Integer cents (§4) as the buyer reads money. */
export const formatMoney = (cents: number, currency = 'BRL') =>
  currency === 'BRL' ? money.format(cents / 100) : `${(cents / 100).toFixed(2)} ${currency}`;

export const formatWhen = (iso: string) => when.format(new Date(iso));

/** Seconds left as m:ss, for a countdown. */
export function formatClock(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
