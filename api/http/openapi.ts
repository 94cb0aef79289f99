import type Joi from 'joi';
import joiToSwagger from 'joi-to-swagger';
import type { RouteAccess } from '../middleware/caller-auth';
import type { RouteSpec } from './route';

type Json = Record<string, unknown>;

const ERROR_SCHEMA: Json = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
      additionalProperties: true,
    },
  },
};

function parametersOf(schema: Joi.ObjectSchema | undefined, location: 'path' | 'query' | 'header') {
  if (!schema) return [];
  const { swagger } = joiToSwagger(schema);
  const required = new Set<string>(swagger.required ?? []);
  return Object.entries<Json>(swagger.properties ?? {}).map(([name, prop]) => ({
    name,
    in: location,
    required: location === 'path' || required.has(name),
    ...(prop.description ? { description: prop.description } : {}),
    schema: prop,
  }));
}

/** The OpenAPI 3 document of every mounted route, built from the same Joi schemas that validate. */
/** OpenAPI security requirements per route access (alternatives are either/or). */
const SECURITY: Record<RouteAccess, Json[]> = {
  admin: [{ adminBearer: [] }],
  buyer: [{ buyerBearer: [] }],
  'buyer-or-admin': [{ buyerBearer: [] }, { adminBearer: [] }],
};

export function buildOpenApiDocument(
  routes: RouteSpec[],
  info: { title: string; version: string },
) {
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const responses: Record<string, Json> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      const schema = response.schema
        ? joiToSwagger(response.schema).swagger
        : Number(status) >= 400
          ? { $ref: '#/components/schemas/Error' }
          : undefined;
      responses[status] = {
        description: response.description,
        ...(schema ? { content: { 'application/json': { schema } } } : {}),
      };
    }
    if (route.body || route.params || route.query) {
      responses['400'] ??= {
        description: 'VALIDATION_FAILED: the request does not match this schema',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
    }
    paths[path] ??= {};
    paths[path][route.method] = {
      tags: [route.tag],
      summary: route.summary,
      ...(route.auth ? { security: SECURITY[route.auth] } : {}),
      parameters: [
        ...parametersOf(route.params, 'path'),
        ...parametersOf(route.query, 'query'),
        ...parametersOf(route.headers, 'header'),
      ],
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: joiToSwagger(route.body).swagger } },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.0.3',
    info,
    paths,
    components: {
      schemas: { Error: ERROR_SCHEMA },
      securitySchemes: {
        buyerBearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'A buyer access token from POST /api/v1/auth/token',
        },
        adminBearer: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
      },
    },
  };
}
