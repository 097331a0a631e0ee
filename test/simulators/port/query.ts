/**
 * Port search rules, evaluated in memory. Covers what an ingestion worker and a mapping's search relations use:
 * `=`, `!=`, `in`, `notIn`, `contains`, `containsAny`, `doesNotContains`, `beginsWith`, `endsWith`, `<`, `<=`, `>`,
 * `>=`, `isEmpty`, `isNotEmpty`, nested `{combinator, rules}`.
 */
import type { StoredEntity } from './types.js';

export interface Rule {
  property: string;
  operator: string;
  value?: unknown;
}

export interface Query {
  combinator: 'and' | 'or' | string;
  rules: Array<Rule | Query>;
}

export class QueryError extends Error {}

export function isQuery(value: unknown): value is Query {
  return typeof value === 'object' && value !== null && 'combinator' in value && 'rules' in value;
}

/** Value of `property` on an entity: `$meta` properties, or a blueprint property by id. */
export function propertyValue(e: StoredEntity, property: string): unknown {
  switch (property) {
    case '$identifier':
      return e.identifier;
    case '$title':
      return e.title ?? null;
    case '$icon':
      return e.icon ?? null;
    case '$team':
      return e.team ?? null;
    case '$blueprint':
      return e.blueprint;
    case '$datasource':
      return e.datasource;
    case '$createdAt':
      return e.createdAt;
    case '$updatedAt':
      return e.updatedAt;
    case '$createdBy':
      return e.createdBy;
    case '$updatedBy':
      return e.updatedBy;
    default:
      if (property.startsWith('$')) throw new QueryError(`unsupported meta property ${property}`);
      return e.properties[property] ?? null;
  }
}

function comparable(v: unknown): number | string | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? v : t;
  }
  return undefined;
}

function matchRule(e: StoredEntity, rule: Rule): boolean {
  const actual = propertyValue(e, rule.property);
  const v = rule.value;
  const asList = (x: unknown): unknown[] => (Array.isArray(x) ? x : [x]);
  switch (rule.operator) {
    case '=':
      return Array.isArray(actual) ? actual.includes(v) : actual === v;
    case '!=':
      return Array.isArray(actual) ? !actual.includes(v) : actual !== v;
    case 'in':
      return asList(v).some((x) => (Array.isArray(actual) ? actual.includes(x) : actual === x));
    case 'notIn':
      return !asList(v).some((x) => (Array.isArray(actual) ? actual.includes(x) : actual === x));
    case 'contains':
      if (Array.isArray(actual)) return actual.includes(v);
      return typeof actual === 'string' && typeof v === 'string' && actual.includes(v);
    case 'containsAny':
      return asList(v).some((x) =>
        Array.isArray(actual) ? actual.includes(x) : typeof actual === 'string' && typeof x === 'string' && actual.includes(x),
      );
    case 'doesNotContains':
      return !(typeof actual === 'string' && typeof v === 'string' && actual.includes(v));
    case 'beginsWith':
      return typeof actual === 'string' && typeof v === 'string' && actual.startsWith(v);
    case 'endsWith':
      return typeof actual === 'string' && typeof v === 'string' && actual.endsWith(v);
    case 'isEmpty':
      return actual === null || actual === '' || (Array.isArray(actual) && actual.length === 0);
    case 'isNotEmpty':
      return !(actual === null || actual === '' || (Array.isArray(actual) && actual.length === 0));
    case '<':
    case '<=':
    case '>':
    case '>=': {
      const a = comparable(actual);
      const b = comparable(v);
      if (a === undefined || b === undefined || typeof a !== typeof b) return false;
      if (rule.operator === '<') return a < b;
      if (rule.operator === '<=') return a <= b;
      if (rule.operator === '>') return a > b;
      return a >= b;
    }
    default:
      throw new QueryError(`unsupported operator ${rule.operator}`);
  }
}

export function matches(e: StoredEntity, query: Query | undefined): boolean {
  if (!query) return true;
  if (!Array.isArray(query.rules)) throw new QueryError('query.rules must be an array');
  const results = query.rules.map((r) => (isQuery(r) ? matches(e, r) : matchRule(e, r)));
  if (query.combinator === 'or') return results.some(Boolean);
  if (query.combinator === 'and') return results.every(Boolean);
  throw new QueryError(`unsupported combinator ${String(query.combinator)}`);
}
