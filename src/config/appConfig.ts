import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { getKind, kindNames } from '../kinds/registry.js';
import { SELECTOR_BASE_PROPERTIES } from '../kinds/types.js';
import { UserInputError } from '../util/errors.js';
import type { FromSchema } from '../util/schemaType.js';
import { didYouMean } from '../util/suggest.js';
import { lineOf, loadYamlWithPositions, type PositionNode } from '../util/yamlPositions.js';

export interface LoadedAppConfig {
  file: string;
  config: PortAppConfig;
  positions: PositionNode | undefined;
}

export interface ConfigIssue {
  file: string;
  line?: number;
  resourceIndex?: number;
  kind?: string;
  field?: string;
  message: string;
}

export function formatIssue(i: ConfigIssue): string {
  const where = [`${i.file}${i.line ? `:${i.line}` : ''}`];
  if (i.resourceIndex !== undefined) where.push(`resources[${i.resourceIndex}]${i.kind ? ` (kind "${i.kind}")` : ''}`);
  if (i.field) where.push(i.field);
  return `${where.join(' ')}: ${i.message}`;
}

/** Bad port-app-config: lists every problem found, each with file:line, resource and field. */
export class ConfigError extends UserInputError {
  override name = 'ConfigError';
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
  }
}

const jqString = { type: 'string', minLength: 1 } as const;
const searchQuery = {
  $id: 'searchQuery',
  type: 'object',
  required: ['combinator', 'rules'],
  additionalProperties: false,
  properties: {
    combinator: jqString,
    rules: {
      type: 'array',
      minItems: 1,
      items: {
        anyOf: [
          {
            type: 'object',
            required: ['property', 'operator', 'value'],
            additionalProperties: false,
            properties: { property: jqString, operator: jqString, value: jqString },
          },
          { $ref: 'searchQuery' },
        ],
      },
    },
  },
} as const;
const jqOrSearch = { anyOf: [jqString, { $ref: 'searchQuery' }] } as const;

const fileSchema = {
  type: 'object',
  required: ['resources'],
  additionalProperties: false,
  properties: {
    deleteDependentEntities: { type: 'boolean', default: true },
    createMissingRelatedEntities: { type: 'boolean', default: true },
    enableMergeEntity: { type: 'boolean', default: true },
    entityDeletionThreshold: { type: 'number', minimum: 0, maximum: 1, default: 0.9 },
    // Ocean's GitOps keys: with specPath, a `gitops` resource reading those spec files is added (gitopsResource).
    specPath: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
    useDefaultBranch: { type: ['boolean', 'null'] },
    branch: { type: 'string' },
    resources: {
      type: 'array',
      items: {
        type: 'object',
        required: ['kind', 'selector', 'port'],
        additionalProperties: false,
        properties: {
          kind: { type: 'string' },
          // The kind's own options are checked against its selectorSchema (selectorValidator below).
          selector: { type: 'object', required: ['query'], additionalProperties: true, properties: { query: jqString } },
          port: {
            type: 'object',
            required: ['entity'],
            additionalProperties: false,
            properties: {
              entity: {
                type: 'object',
                required: ['mappings'],
                additionalProperties: false,
                properties: {
                  mappings: {
                    type: 'object',
                    required: ['identifier', 'blueprint'],
                    additionalProperties: false,
                    properties: {
                      identifier: jqOrSearch,
                      blueprint: jqString,
                      title: jqString,
                      icon: jqString,
                      team: jqOrSearch,
                      properties: { type: 'object', additionalProperties: jqString, default: {} },
                      relations: { type: 'object', additionalProperties: jqOrSearch, default: {} },
                    },
                  },
                },
              },
              itemsToParse: jqString,
              itemsToParseName: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', default: 'item' },
              itemsToParseTopLevelTransform: { type: 'boolean', default: true },
            },
          },
        },
      },
    },
  },
} as const;

// The types of a loaded port-app-config, taken from the schemas above (after ajv's defaults).
type Refs = { searchQuery: SearchQueryMapping };
/** A search query in a mapping: every string leaf is a jq expression (Port's convention, e.g. `combinator: '"and"'`). */
export type SearchQueryMapping = FromSchema<typeof searchQuery, Refs>;
/** Port's port-app-config, as Ocean integrations use it. */
export type PortAppConfig = FromSchema<typeof fileSchema, Refs>;
export type ResourceConfig = PortAppConfig['resources'][number];
export type EntityMappings = ResourceConfig['port']['entity']['mappings'];

// coerceTypes: YAML `query: true` or `defaultTeam: 'true'` mean what Ocean's pydantic models accept.
const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: true, schemas: [searchQuery] });
const validateFile = ajv.compile(fileSchema);
const selectorValidators = new Map<string, ReturnType<typeof ajv.compile>>();

function selectorValidator(kind: string) {
  let v = selectorValidators.get(kind);
  if (!v) {
    const def = getKind(kind)!;
    v = ajv.compile({
      type: 'object',
      required: ['query'],
      additionalProperties: false,
      properties: {
        ...SELECTOR_BASE_PROPERTIES,
        ...def.selectorSchema.properties,
      },
    });
    selectorValidators.set(kind, v);
  }
  return v;
}

/** Reads, parses and validates a port-app-config file (jq expressions are compile-checked by mapping/). */
export function loadAppConfig(file: string): LoadedAppConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file, message: `cannot read the file: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }]);
  }
  return parseAppConfig(text, file);
}

export function parseAppConfig(text: string, file: string): LoadedAppConfig {
  let data: unknown;
  let positions: PositionNode | undefined;
  try {
    ({ data, positions } = loadYamlWithPositions(text, file));
  } catch (err) {
    const e = err as { mark?: { line: number }; reason?: string; message: string };
    throw new ConfigError([{ file, line: e.mark ? e.mark.line + 1 : undefined, message: `YAML syntax error: ${e.reason ?? e.message}` }]);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError([{ file, line: 1, message: 'expected a mapping with a "resources" list at the top level' }]);
  }
  const issues: ConfigIssue[] = [];
  if (!validateFile(data)) issues.push(...schemaIssues(validateFile.errors ?? [], file, positions, data));
  const resources = (data as { resources?: unknown }).resources;
  if (Array.isArray(resources)) {
    resources.forEach((res, index) => {
      const kind = (res as { kind?: unknown })?.kind;
      if (typeof kind !== 'string') return;
      if (!getKind(kind)) {
        issues.push({
          file,
          line: lineOf(positions, ['resources', index, 'kind']),
          resourceIndex: index,
          kind,
          field: 'kind',
          message: `unknown kind "${kind}"${didYouMean(kind, kindNames())}; valid kinds: ${kindNames().join(', ')}`,
        });
        return;
      }
      const selector = (res as { selector?: unknown }).selector;
      if (selector === null || typeof selector !== 'object') return;
      const validate = selectorValidator(kind);
      if (!validate(selector)) {
        for (const err of validate.errors ?? []) {
          issues.push(selectorIssue(err, file, positions, index, kind));
        }
      }
    });
  }
  if (issues.length > 0) throw new ConfigError(dedupe(issues));
  const config = data as PortAppConfig;
  const gitops = gitopsResource(config);
  if (gitops) {
    selectorValidator('gitops')(gitops.selector);
    config.resources.push(gitops);
  }
  return { file, config, positions };
}

/**
 * Ocean's top-level GitOps keys as a resource: `specPath` (given explicitly: reading every repository is not free),
 * `branch` and `useDefaultBranch` become a `gitops` resource whose entities are written as declared. A config that
 * has its own `gitops` resource keeps it alone.
 */
function gitopsResource(config: PortAppConfig): ResourceConfig | undefined {
  if (config.specPath === undefined || config.resources.some((r) => r.kind === 'gitops')) return undefined;
  const selector: ResourceConfig['selector'] = { query: 'true', specPath: config.specPath };
  if (config.branch !== undefined) selector.branch = config.branch;
  if (config.useDefaultBranch !== undefined && config.useDefaultBranch !== null) selector.useDefaultBranch = config.useDefaultBranch;
  return { kind: 'gitops', selector, port: { entity: { mappings: { identifier: '.identifier', blueprint: '.blueprint', properties: {}, relations: {} } }, itemsToParseName: 'item', itemsToParseTopLevelTransform: true } };
}

function selectorIssue(err: ErrorObject, file: string, positions: PositionNode | undefined, index: number, kind: string): ConfigIssue {
  const sub = pathOf(err.instancePath);
  const base = ['resources', index, 'selector'];
  if (err.keyword === 'additionalProperties') {
    const option = String((err.params as { additionalProperty: string }).additionalProperty);
    const valid = ['query', ...Object.keys(getKind(kind)!.selectorSchema.properties)];
    return {
      file,
      line: lineOf(positions, [...base, option]),
      resourceIndex: index,
      kind,
      field: `selector.${option}`,
      message: `unknown selector option "${option}"; valid options for ${kind}: ${valid.join(', ')}`,
    };
  }
  return {
    file,
    line: lineOf(positions, [...base, ...sub]),
    resourceIndex: index,
    kind,
    field: ['selector', ...sub].join('.'),
    message: err.message ?? 'invalid value',
  };
}

function schemaIssues(errors: ErrorObject[], file: string, positions: PositionNode | undefined, data: object): ConfigIssue[] {
  // anyOf failures repeat the same place several times; keep the most specific message per place.
  const relevant = errors.filter((e) => e.keyword !== 'anyOf' && !(e.keyword === '$ref'));
  return relevant.map((err) => {
    let path = pathOf(err.instancePath);
    let message = err.message ?? 'invalid';
    if (err.keyword === 'additionalProperties') {
      const extra = String((err.params as { additionalProperty: string }).additionalProperty);
      path = [...path, extra];
      message = `unknown key "${extra}"`;
    } else if (err.keyword === 'required') {
      message = `missing required key "${(err.params as { missingProperty: string }).missingProperty}"`;
    }
    const issue: ConfigIssue = { file, line: lineOf(positions, path), message };
    if (path[0] === 'resources' && typeof path[1] === 'number') {
      issue.resourceIndex = path[1];
      const kind = ((data as { resources: Array<{ kind?: unknown }> }).resources[path[1]] ?? {}).kind;
      if (typeof kind === 'string') issue.kind = kind;
      issue.field = path.slice(2).join('.') || undefined;
    } else issue.field = path.join('.') || undefined;
    return issue;
  });
}

function pathOf(instancePath: string): Array<string | number> {
  return instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = formatIssue(i);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
