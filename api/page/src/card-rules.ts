/**
 * The card as the payment form reads it, checked by the rules the API applies
 * (shared/payments/card.ts), so a typo is pointed at beside its field instead of coming back as a
 * 400. The API stays the judge: test/unit/card-rules.test.ts holds both to the same answers.
 * No imports and no DOM, so that test can run it in Node.
 */

export interface CardFields {
  number: string;
  holderName: string;
  expMonth: string;
  expYear: string;
  cvv: string;
}

export interface CheckedCard {
  number: string;
  holderName: string;
  expMonth: number;
  expYear: number;
  cvv: string;
}

export type CardProblems = Partial<Record<'number' | 'holderName' | 'expiry' | 'cvv', string>>;

/** The Luhn checksum: every second digit from the right doubled, digits summed, a multiple of 10. */
function luhnValid(digits: string): boolean {
  const sum = [...digits].reverse().reduce((total, char, i) => {
    const doubled = i % 2 === 1 ? Number(char) * 2 : Number(char);
    return total + (doubled > 9 ? doubled - 9 : doubled);
  }, 0);
  return sum % 10 === 0;
}

const wholeNumber = (text: string) => (/^\d{1,4}$/.test(text.trim()) ? Number(text) : NaN);

export function checkCard(
  fields: CardFields,
  now = new Date(),
): { card: CheckedCard } | { problems: CardProblems } {
  const problems: CardProblems = {};
  const number = fields.number.replace(/[\s-]/g, '');
  if (!/^\d{12,19}$/.test(number) || !luhnValid(number)) {
    problems.number = 'This is not a valid card number.';
  }
  const holderName = fields.holderName.normalize('NFC').trim();
  if (holderName.length < 2 || holderName.length > 100 || /[\p{Cc}\p{Cs}]/u.test(holderName)) {
    problems.holderName = 'Type the name as it is on the card (2 to 100 characters).';
  }
  const expMonth = wholeNumber(fields.expMonth);
  let expYear = wholeNumber(fields.expYear);
  // Cards print the year in two digits; the API wants all four.
  if (expYear < 100) expYear += 2000;
  const thisMonth = now.getUTCFullYear() * 12 + now.getUTCMonth() + 1;
  if (!(expMonth >= 1 && expMonth <= 12) || !(expYear >= 2000 && expYear <= 2100)) {
    problems.expiry = 'Type the expiry month (1 to 12) and year.';
  } else if (expYear * 12 + expMonth < thisMonth) {
    problems.expiry = 'This card has expired.';
  }
  const cvv = fields.cvv.trim();
  if (!/^\d{3,4}$/.test(cvv)) problems.cvv = 'The security code is the 3 or 4 digits on the card.';
  return Object.keys(problems).length > 0
    ? { problems }
    : { card: { number, holderName, expMonth, expYear, cvv } };
}
