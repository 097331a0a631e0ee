/**
 * An action's inputs, validated with ajv against its input schema before it runs: defaults filled in, unknown inputs
 * refused (unless the schema says `additionalProperties: true`), and a failure is one sentence naming the input.
 * Every schema gains the optional `organization` input (URL or name) the executor picks the organization with.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { ActionDefinition } from './types.js';

/** The input naming the organization an action acts on; the executor reads it, every action accepts it. */
export const ORGANIZATION_INPUT = 'organization';

// Port's input schemas carry keywords and formats of Port's own (`format: entity`, `blueprint`): ignored, not refused.
const ajv = new Ajv({ allErrors: false, useDefaults: true, coerceTypes: false, strict: false, validateFormats: false, logger: false });
const compiled = new WeakMap<ActionDefinition, ValidateFunction>();

function validator(action: ActionDefinition): ValidateFunction {
  let v = compiled.get(action);
  if (!v) {
    const s = action.inputSchema;
    v = ajv.compile({
      ...s,
      properties: { [ORGANIZATION_INPUT]: { type: 'string', minLength: 1, description: 'the organization: its URL or name' }, ...s.properties },
      additionalProperties: s.additionalProperties ?? false,
    });
    compiled.set(action, v);
  }
  return v;
}

export type InputCheck = { ok: true; inputs: Record<string, unknown> } | { ok: false; message: string };

/**
 * The inputs as the action gets them (a copy, with defaults), or what is wrong with them. Inputs Port sends as null
 * (an optional input left empty) count as absent.
 */
export function validateInputs(action: ActionDefinition, given: unknown): InputCheck {
  if (given !== undefined && given !== null && (typeof given !== 'object' || Array.isArray(given))) {
    return { ok: false, message: `bad input: the inputs of ${action.identifier} must be a JSON object` };
  }
  const inputs = Object.fromEntries(Object.entries(structuredClone((given ?? {}) as Record<string, unknown>)).filter(([, v]) => v !== null));
  const v = validator(action);
  if (v(inputs)) return { ok: true, inputs };
  return { ok: false, message: `bad input: ${describe(action, v.errors?.[0])}` };
}

function describe(action: ActionDefinition, e: ErrorObject | undefined): string {
  if (!e) return `the inputs of ${action.identifier} are not valid`;
  const known = Object.keys(action.inputSchema.properties);
  const params = e.params as { missingProperty?: string; additionalProperty?: string; allowedValues?: unknown[] };
  if (e.keyword === 'required' && params.missingProperty) {
    const about = inputDescription(action, params.missingProperty);
    return `"${params.missingProperty}" is missing${about ? ` (${about})` : ''}`;
  }
  if (e.keyword === 'additionalProperties' && params.additionalProperty) {
    return `"${params.additionalProperty}" is not an input of ${action.identifier} (its inputs: ${[...known, ORGANIZATION_INPUT].join(', ')})`;
  }
  const field = e.instancePath.slice(1).replace(/\//g, '.');
  const allowed = e.keyword === 'enum' && params.allowedValues ? `: ${params.allowedValues.map((x) => JSON.stringify(x)).join(', ')}` : '';
  return field ? `"${field}" ${e.message ?? 'is not valid'}${allowed}` : `the inputs ${e.message ?? 'are not valid'}`;
}

function inputDescription(action: ActionDefinition, name: string): string | undefined {
  const p = action.inputSchema.properties[name] as { description?: unknown; title?: unknown } | undefined;
  const text = p?.description ?? p?.title;
  return typeof text === 'string' ? text : undefined;
}
