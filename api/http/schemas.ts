import Joi from 'joi';

/** Building blocks shared by the resource routes. */

/*
 * Safe input (§4: nothing a client sends may produce a 5xx). PostgreSQL refuses NUL in text, a
 * lone UTF-16 surrogate cannot be encoded as UTF-8 (it would be stored as U+FFFD), and neither
 * has any business in a name. Every text a route accepts is built from these blocks.
 */
/** C0 controls, DEL and C1 controls (Unicode category Cc). */
const CONTROL_CHARACTER = /\p{Cc}/u;
/** The same, but a multi-line text may hold tabs and line breaks. */
const CONTROL_CHARACTER_BUT_LINES = /(?![\t\n\r])\p{Cc}/u;
/** A high surrogate without its low half, or a low one without its high half. */
const LONE_SURROGATE = /\p{Cs}/u;
/** A letter, digit, punctuation mark or symbol (emoji included): something a reader sees. */
const VISIBLE = /[\p{L}\p{N}\p{P}\p{S}]/u;

const TEXT_MESSAGES = {
  'text.control': '{{#label}} must not contain control characters',
  'text.surrogate':
    '{{#label}} must not contain unpaired UTF-16 surrogates (it is not valid Unicode)',
  'text.invisible': '{{#label}} must contain at least one visible character',
};

/** Refuses control characters and lone surrogates; the value is left as it is. */
const wellFormed =
  (control: RegExp) =>
  (value: string, helpers: Joi.CustomHelpers): string | Joi.ErrorReport =>
    control.test(value)
      ? helpers.error('text.control')
      : LONE_SURROGATE.test(value)
        ? helpers.error('text.surrogate')
        : value;

/**
 * Human text (names, titles, synopses): Unicode NFC, trimmed, 1 to `max` characters, at least one
 * visible; no control characters (a `multiline` text may hold tabs and line breaks) and no lone
 * surrogates. Accents and emoji are welcome.
 */
export const text = (max: number, { multiline = false }: { multiline?: boolean } = {}) =>
  Joi.string()
    .normalize('NFC')
    .trim()
    .min(1)
    .max(max)
    .custom(wellFormed(multiline ? CONTROL_CHARACTER_BUT_LINES : CONTROL_CHARACTER))
    .custom((value: string, helpers) =>
      VISIBLE.test(value) ? value : helpers.error('text.invisible'),
    )
    .messages(TEXT_MESSAGES);

/**
 * A secret (a password): taken exactly as sent, neither trimmed nor normalised (that would change
 * which hash it matches), but free of control characters and lone surrogates.
 */
export const secret = () =>
  Joi.string().custom(wellFormed(CONTROL_CHARACTER)).messages(TEXT_MESSAGES);

/**
 * An email address as it is stored: lower-cased, in a varchar(254). Some characters grow when
 * lower-cased ('İ' becomes 'i̇', two code points), so the lower-cased form is what must fit.
 */
export const email = (max = 254) =>
  Joi.string()
    .normalize('NFC')
    .trim()
    .custom(wellFormed(CONTROL_CHARACTER))
    .email()
    .max(max)
    .custom((value: string, helpers) =>
      value.toLowerCase().length <= max
        ? value
        : helpers.error('email.lowercaseMax', { limit: max }),
    )
    .messages({
      ...TEXT_MESSAGES,
      'email.lowercaseMax':
        '{{#label}} must be at most {{#limit}} characters long once lower-cased',
    });

/**
 * An opaque token in a header or a body (a hold token, a refresh token, an Idempotency-Key):
 * printable ASCII, 1 to `max` characters. Header values are Latin-1 on the wire, so this also
 * refuses the bytes above 0x7E a client might send.
 */
export const asciiToken = (max = 200) =>
  Joi.string()
    .min(1)
    .max(max)
    .pattern(/^[\x20-\x7e]*$/, 'printable ASCII')
    .messages({
      'string.pattern.name': '{{#label}} must be printable ASCII (no control characters)',
    });

/** The `Idempotency-Key` header of a route that honours it. */
export const idempotencyKey = () =>
  asciiToken(200).description('Retries with the same key and body get the first answer again');

/**
 * A UUID in its canonical spelling. Upper-case input is lower-cased; braces or missing hyphens
 * are refused: ids become Redis keys, and one id must never have two keys.
 */
export const uuid = () =>
  Joi.string()
    .lowercase()
    .pattern(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'uuid')
    .messages({ 'string.pattern.name': '{{#label}} must be a UUID' });

/** Today, `YYYY-MM-DD` (UTC). */
export const today = () => new Date().toISOString().slice(0, 10);

/**
 * A calendar day, `YYYY-MM-DD`, that exists (no 2023-02-30), from `min` to `max` (days too;
 * `max` may be a function, e.g. `today`, read at each validation). Without bounds, years 0001 to
 * 9999: PostgreSQL stores no year 0.
 */
export const calendarDate = ({
  min = '0001-01-01',
  max = '9999-12-31',
}: { min?: string; max?: string | (() => string) } = {}) =>
  Joi.string()
    .pattern(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD')
    .custom((value: string, helpers) => {
      const parsed = new Date(`${value}T00:00:00Z`);
      if (Number.isNaN(parsed.getTime()) || !parsed.toISOString().startsWith(value))
        return helpers.error('any.invalid');
      // Fixed-width days compare as strings.
      const last = typeof max === 'function' ? max() : max;
      if (value < min) return helpers.error('date.min', { limit: min });
      if (value > last) return helpers.error('date.max', { limit: last });
      return value;
    })
    .messages({
      'any.invalid': '{{#label}} is not a real calendar day',
      'date.min': '{{#label}} must be {{#limit}} or later',
      'date.max': '{{#label}} must be {{#limit}} or earlier',
    });

/**
 * An instant, ISO 8601, from `min` to `max` (ISO strings). Joi alone would take any year JavaScript
 * can hold (±275760), which PostgreSQL cannot store.
 */
export const isoInstant = ({ min, max }: { min: string; max: string }) =>
  Joi.date()
    .iso()
    .min(min)
    .max(max)
    .messages({
      'date.min': `{{#label}} must be ${min} or later`,
      'date.max': `{{#label}} must be ${max} or earlier`,
    });

export const idParam = (name = 'id') => Joi.object({ [name]: uuid().required() });

export const errorResponse = (description: string) => ({ description });

/** `?page=&pageSize=` of a paginated list (pages from 1). */
export const pageQuery = (defaultPageSize = 20) =>
  Joi.object({
    page: Joi.number().integer().min(1).max(10_000).default(1),
    pageSize: Joi.number().integer().min(1).max(100).default(Math.min(defaultPageSize, 100)),
  });

/** One page of a list: `{items, page, pageSize, total}`. */
export const pageView = (item: Joi.Schema, label: string) =>
  Joi.object({
    items: Joi.array().items(item),
    page: Joi.number(),
    pageSize: Joi.number(),
    total: Joi.number(),
  }).label(label);
