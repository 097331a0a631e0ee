/**
 * Input projection: the parts of an item (top-level keys, and one level below) that a resource's jq expressions can
 * read, when a static analysis (analysis.ts) proves that sending jq only those parts cannot change any output (values,
 * errors or error messages). Most of jq's time goes into parsing the item and most of Node's into stringifying it;
 * mappings read a few keys of a large payload, so sending only those parts saves both. This file cuts an item down to
 * its projection.
 */

/**
 * What jq gets of each item: the top-level `keys`, and for some of them only the parts read. `fields`: the key's
 * value is read only as `.k.j` (j in fields); `elements`: only as `.k[].j` (j in elements) — each element, or each
 * value of an object, keeps those keys.
 */
export interface Projection {
  keys: ReadonlySet<string>;
  nested: ReadonlyMap<string, { fields: ReadonlySet<string>; elements: ReadonlySet<string> }>;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Ordinary objects (V8 gives same-keyed ones one shape; null-prototype ones are dictionaries, a third slower to build
 * and stringify). A key named __proto__ is defined, not assigned, so it stays an ordinary key, as in JSON.
 */
function put(out: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  else out[k] = v;
}

function pick(src: Record<string, unknown>, keys: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (Object.hasOwn(src, k)) put(out, k, src[k]);
  return out;
}

/**
 * The item as jq gets it (only keys it has). Non-objects (and objects that are not plain) go unchanged. Key order
 * may differ from the item's: the analysis only allows reads by key, which cannot see order (values of an object
 * that is iterated keep their order).
 */
export function projectItem(item: unknown, projection: Projection): unknown {
  if (!isPlainObject(item)) return item;
  const out = pick(item, projection.keys);
  for (const [k, { fields, elements }] of projection.nested) {
    if (!Object.hasOwn(out, k)) continue;
    const v = out[k];
    if (Array.isArray(v)) {
      // `.k.j` fails on an array whatever it holds; only `.k[].j` reads elements.
      put(out, k, v.map((e) => (isPlainObject(e) ? pick(e, elements) : e)));
    } else if (isPlainObject(v)) {
      if (elements.size === 0) put(out, k, pick(v, fields));
      else if (fields.size === 0) {
        const values: Record<string, unknown> = {};
        for (const key of Object.keys(v)) put(values, key, isPlainObject(v[key]) ? pick(v[key], elements) : v[key]);
        put(out, k, values);
      }
      // read both as .k.j and .k[].j: sent whole
    }
  }
  return out;
}
