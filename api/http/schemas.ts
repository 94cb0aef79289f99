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
