import { errors } from './errors.js';

/**
 * Query parameters as the service binds them: names case-insensitive (`$Top` = `$top`), repeated names keep
 * the last value.
 */
export class QueryParams {
  readonly raw: Record<string, string>;
  readonly #lower = new Map<string, string>();

  constructor(query: unknown) {
    this.raw = flattenQuery(query);
    for (const [k, v] of Object.entries(this.raw)) this.#lower.set(k.toLowerCase(), v);
  }

  get(name: string): string | undefined {
    return this.#lower.get(name.toLowerCase());
  }

  /** The first of several names that is present (e.g. `versionDescriptor.version` or `version`). */
  first(...names: string[]): string | undefined {
    for (const n of names) {
      const v = this.get(n);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  bool(name: string): boolean {
    return (this.get(name) ?? '').toLowerCase() === 'true';
  }

  /** A non-negative integer, or undefined when absent; 400 when malformed. */
  int(name: string): number | undefined {
    const v = this.get(name);
    if (v === undefined || v === '') return undefined;
    if (!/^\d+$/.test(v.trim())) throw errors.badRequest(`The value '${v}' is not valid for ${name}: expected a non-negative integer.`);
    const n = Number(v.trim());
    if (!Number.isSafeInteger(n) || n > 2_147_483_647) throw errors.badRequest(`The value '${v}' is out of range for ${name}.`);
    return n;
  }

  /** An ISO date-time, or undefined when absent; 400 when malformed. */
  date(name: string): number | undefined {
    const v = this.get(name);
    if (v === undefined || v === '') return undefined;
    const ms = Date.parse(v);
    if (Number.isNaN(ms)) throw errors.badRequest(`The value '${v}' is not a valid date for ${name}.`);
    return ms;
  }
}

export function flattenQuery(query: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!query || typeof query !== 'object') return out;
  for (const [k, v] of Object.entries(query as Record<string, unknown>)) {
    if (Array.isArray(v)) {
      const last = v[v.length - 1];
      if (last !== undefined) out[k] = String(last);
    } else if (v !== undefined) {
      out[k] = String(v);
    }
  }
  return out;
}
