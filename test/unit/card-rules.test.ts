import { checkCard, type CardFields } from '../../api/page/src/card-rules';
import { cardSchema } from '../../shared/payments/card';

/**
 * The buyer's page checks a card before sending it (api/page/src/card-rules.ts) so a typo is
 * shown beside its field; the API's schema stays the judge. The two must agree, or the page would
 * refuse a card the API takes, or send one it refuses.
 */
const now = new Date();
const thisYear = now.getUTCFullYear();
const thisMonth = now.getUTCMonth() + 1;
const lastMonth = thisMonth === 1 ? { m: 12, y: thisYear - 1 } : { m: thisMonth - 1, y: thisYear };

const good: CardFields = {
  number: '4111 1111 1111 1111',
  holderName: 'Ana Souza',
  expMonth: '12',
  expYear: String(thisYear + 5),
  cvv: '123',
};

const cases: [string, Partial<CardFields>][] = [
  ['a Luhn-valid card with spaces', {}],
  ['the declined test card (valid: the gateway declines it)', { number: '4000000000000002' }],
  ['dashes between the groups', { number: '4111-1111-1111-1111' }],
  ['a number failing Luhn', { number: '4111 1111 1111 1112' }],
  ['too few digits', { number: '4242' }],
  ['a letter in the number', { number: '4111 1111 1111 111a' }],
  ['a one-letter holder', { holderName: 'A' }],
  ['a holder padded with spaces', { holderName: '  Ana Souza  ' }],
  ['a control character in the holder', { holderName: 'Ana\u0007Souza' }],
  ['a holder of 101 letters', { holderName: 'a'.repeat(101) }],
  ['month 13', { expMonth: '13' }],
  ['month 0', { expMonth: '0' }],
  ['this month', { expMonth: String(thisMonth), expYear: String(thisYear) }],
  ['last month', { expMonth: String(lastMonth.m), expYear: String(lastMonth.y) }],
  ['a year past 2100', { expYear: '2101' }],
  ['a CVV of 2 digits', { cvv: '12' }],
  ['a CVV of 4 digits', { cvv: '1234' }],
  ['a CVV with a letter', { cvv: '12a' }],
];

describe("the buyer's page's card check", () => {
  it.each(cases)('when the card has %s, then the page and the API agree on it', (_, change) => {
    const fields = { ...good, ...change };
    const onPage = checkCard(fields);
    const byApi = cardSchema.validate({
      ...fields,
      expMonth: Number(fields.expMonth),
      expYear: Number(fields.expYear),
    });
    expect('card' in onPage).toBe(byApi.error === undefined);
    if ('card' in onPage) expect(cardSchema.validate(onPage.card).error).toBeUndefined();
  });

  it('when the year is typed in two digits, as cards print it, then the page sends the four the API wants', () => {
    const onPage = checkCard({ ...good, expYear: String((thisYear + 2) % 100) });
    expect('card' in onPage && onPage.card.expYear).toBe(thisYear + 2);
    if ('card' in onPage) expect(cardSchema.validate(onPage.card).error).toBeUndefined();
  });
});
