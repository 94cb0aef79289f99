import Joi from 'joi';

/** Building blocks shared by the resource routes. */
/**
 * A UUID in its canonical spelling. Upper-case input is lower-cased; braces or missing hyphens
 * are refused: ids become Redis keys, and one id must never have two keys.
 */
export const uuid = () =>
  Joi.string()
    .lowercase()
    .pattern(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'uuid')
    .messages({ 'string.pattern.name': '{{#label}} must be a UUID' });

/** A calendar day, `YYYY-MM-DD`, that exists (no 2023-02-30). */
export const calendarDate = () =>
  Joi.string()
    .pattern(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD')
    .custom((value: string, helpers) => {
      const parsed = new Date(`${value}T00:00:00Z`);
      return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(value)
        ? value
        : helpers.error('any.invalid');
    })
    .messages({ 'any.invalid': '{{#label}} is not a real calendar day' });

export const idParam = (name = 'id') => Joi.object({ [name]: uuid().required() });

export const errorResponse = (description: string) => ({ description });
