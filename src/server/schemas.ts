/**
 * The routes' JSON schemas, validated by fastify's ajv (type coercion off: a number is not a string) after the
 * route's onRequest authentication. Each field's `description` is what a 400 says about it.
 */
import type { FastifySchema, FastifySchemaValidationError } from 'fastify';

/** The part of a request a schema failed on (fastify's RequestPart, which it does not export). */
type RequestPart = 'body' | 'headers' | 'params' | 'querystring';

const nonEmpty = { type: 'string', minLength: 1, description: 'a non-empty string' } as const;

/** A service-hook delivery: only the fields this worker relies on are checked; every other field is kept as sent. */
export const ENVELOPE_SCHEMA = {
  type: 'object',
  required: ['id', 'eventType', 'publisherId', 'resource'],
  properties: {
    // Redis job ids and log lines take it as it is.
    id: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,200}$', description: 'a string of 1 to 200 letters, digits, ".", "_" or "-"' },
    eventType: nonEmpty,
    publisherId: nonEmpty,
    resource: { type: 'object', description: 'an object' },
  },
} as const;

const ERROR_REPLY = { type: 'object', required: ['error'], properties: { error: { type: 'string' } } } as const;

export const WEBHOOK_ROUTE: FastifySchema = {
  body: ENVELOPE_SCHEMA,
  response: {
    202: { type: 'object', required: ['accepted', 'id'], properties: { accepted: { type: 'boolean' }, id: { type: 'string' }, coalesced: { type: 'boolean' } } },
    '4xx': ERROR_REPLY,
    '5xx': ERROR_REPLY,
  },
};

/**
 * A Port action invocation, as the shipped actions send it (`{action, port_context: {runId}, inputs, entity, trigger}`):
 * the run id becomes the job id (Redis and log lines take it as it is), the rest is the executor's to judge.
 */
export const ACTION_INVOCATION_SCHEMA = {
  type: 'object',
  required: ['action', 'port_context'],
  properties: {
    action: { type: 'string', minLength: 1, maxLength: 200, description: 'the action identifier, a string of 1 to 200 characters' },
    port_context: {
      type: 'object',
      required: ['runId'],
      description: 'an object carrying the run id ({"runId": "{{ .run.id }}"})',
      properties: { runId: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,200}$', description: 'a string of 1 to 200 letters, digits, ".", "_" or "-" (Port\'s run id)' } },
    },
    inputs: { type: ['object', 'null'], description: 'an object' },
    entity: { type: ['object', 'null'], description: 'an object or null' },
    trigger: { type: ['object', 'null'], description: 'an object' },
  },
} as const;

export const ACTION_ROUTE: FastifySchema = {
  body: ACTION_INVOCATION_SCHEMA,
  response: {
    202: { type: 'object', required: ['accepted', 'runId'], properties: { accepted: { type: 'boolean' }, runId: { type: 'string' } } },
    '4xx': ERROR_REPLY,
    '5xx': ERROR_REPLY,
  },
};

/** POST /admin/resync reads no body (whatever is sent is ignored) and answers the run it started or joined. */
export const ADMIN_RESYNC_ROUTE: FastifySchema = {
  response: {
    202: { type: 'object', required: ['runId', 'started'], properties: { runId: { type: 'string' }, started: { type: 'boolean' } } },
    '4xx': ERROR_REPLY,
    '5xx': ERROR_REPLY,
  },
};

interface DescribedSchema {
  description?: string;
  properties?: Record<string, DescribedSchema>;
}

/**
 * A schema failure as one sentence naming the field: `id must be a string of …`, `resource is missing: it must be an
 * object`, `port_context.runId is missing: it must be …`, `the body must be a JSON object`.
 */
export function schemaErrorMessage(errors: FastifySchemaValidationError[], dataVar: RequestPart, schema: DescribedSchema | undefined): string {
  const e = errors[0];
  if (!e) return `the ${dataVar} is not valid`;
  const missing = e.keyword === 'required' ? String((e.params as { missingProperty?: unknown }).missingProperty) : undefined;
  const path = [...e.instancePath.split('/').filter(Boolean), ...(missing ? [missing] : [])];
  if (path.length === 0) return `the ${dataVar} must be a JSON object`;
  const field = path.join('.');
  // The description of the deepest field the schema describes (a field without one takes its parent's).
  let node: DescribedSchema | undefined = schema;
  let expected: string | undefined;
  for (const key of path) {
    node = node?.properties?.[key];
    expected = node?.description ?? expected;
  }
  expected ??= e.message ?? 'valid';
  return missing ? `${field} is missing: it must be ${expected}` : `${field} must be ${expected}`;
}

/** The route's own schemas name the fields in its 400s (fastify passes the failing part's name, not its schema). */
export function schemaErrorFormatter(route: FastifySchema): (errors: FastifySchemaValidationError[], dataVar: RequestPart) => Error {
  return (errors, dataVar) => new Error(schemaErrorMessage(errors, dataVar, route[dataVar] as DescribedSchema | undefined));
}
