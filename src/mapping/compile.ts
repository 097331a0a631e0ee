import type { ResourceConfig, SearchQueryMapping } from '../config/appConfig.js';
import { rewriteLiteralGsub } from './literalGsub.js';
import { getKind } from '../kinds/registry.js';
import { normalizeQuotes } from './quotes.js';

/** One jq expression of a mapping, with where its value goes in the entity. */
export interface FieldSpec {
  /** Path in the entity, e.g. ['properties', 'url'] or ['relations', 'owner', 'rules', 0, 'value']. */
  path: Array<string | number>;
  /** Dotted name for reports: `properties.url`. */
  label: string;
  expr: string;
  /** A null value leaves the field out of the entity (fields taken whole from entity-shaped items). */
  omitNull?: boolean;
}

export interface CompiledResource {
  /** The jq program for one item per input line: one JSON line out per line in, whatever the mapping does. */
  program: string;
  /** The same for a JSON array of items per input line: one array of per-item results out (what the pool runs). */
  batchProgram: string;
  query: string;
  itemsToParse?: string;
  fields: FieldSpec[];
}

/**
 * Compiles a resource into ONE jq program (never one spawn per item or per field). For each input it outputs an array
 * with one result per entity candidate (one, or one per itemsToParse element):
 *   0                 the selector query was not true
 *   {"q": msg}        the selector query raised an error
 *   {"i": msg}        itemsToParse raised an error or was not an array
 *   [w1, w2, …]       one wrapper per field: [] (no output → null), [value], or {"e": msg} (the field raised)
 * The whole body is wrapped in try so that jq can never skip an output line and misalign the stream.
 */
export function compileResource(resource: ResourceConfig): CompiledResource {
  const m = resource.port.entity.mappings;
  const fields: FieldSpec[] = [];
  const add = (path: Array<string | number>, expr: string) => fields.push({ path, label: labelOf(path), expr: normalizeQuotes(expr) });
  const addJqOrSearch = (path: Array<string | number>, v: string | SearchQueryMapping) =>
    typeof v === 'string' ? add(path, v) : addSearch(path, v);
  const addSearch = (path: Array<string | number>, q: SearchQueryMapping) => {
    add([...path, 'combinator'], q.combinator);
    q.rules.forEach((rule, i) => {
      if ('combinator' in rule) addSearch([...path, 'rules', i], rule);
      else {
        add([...path, 'rules', i, 'property'], rule.property);
        add([...path, 'rules', i, 'operator'], rule.operator);
        add([...path, 'rules', i, 'value'], rule.value);
      }
    });
  };

  addJqOrSearch(['identifier'], m.identifier);
  add(['blueprint'], m.blueprint);
  if (m.title !== undefined) add(['title'], m.title);
  if (m.icon !== undefined) add(['icon'], m.icon);
  if (m.team !== undefined) addJqOrSearch(['team'], m.team);
  for (const [k, v] of Object.entries(m.properties ?? {})) add(['properties', k], v);
  for (const [k, v] of Object.entries(m.relations ?? {})) addJqOrSearch(['relations', k], v);
  if (getKind(resource.kind)?.itemsAreEntities) {
    // What the resource does not map is taken from the item as declared.
    for (const key of ['title', 'icon', 'team'] as const) if (m[key] === undefined) fields.push({ path: [key], label: key, expr: `.${key}`, omitNull: true });
    for (const key of ['properties', 'relations'] as const) {
      if (Object.keys(m[key] ?? {}).length === 0) fields.push({ path: [key], label: key, expr: `(.${key} // {})` });
    }
  }

  const query = normalizeQuotes(resource.selector.query);
  const defs = [
    'def __f(f): try ([first(f)]) catch {"e": (. | tostring)};',
    `def __map: [${fields.map((f) => `__f(${rewriteLiteralGsub(f.expr)})`).join(', ')}];`,
    `def __one: __f(${rewriteLiteralGsub(query)}) as $q | if ($q | type) == "object" then {"q": $q.e} elif $q[0] == true then __map else 0 end;`,
  ];
  let body: string;
  const itemsToParse = resource.port.itemsToParse === undefined ? undefined : normalizeQuotes(resource.port.itemsToParse);
  if (itemsToParse) {
    const name = resource.port.itemsToParseName ?? 'item';
    const base = resource.port.itemsToParseTopLevelTransform === false ? '.' : `(try del(${itemsToParse}) catch .)`;
    body = [
      `__f(${rewriteLiteralGsub(itemsToParse)}) as $it`,
      `| if ($it | type) == "object" then [{"i": $it.e}]`,
      `  else ($it[0] // []) as $arr`,
      `  | if ($arr | type) != "array" then [{"i": ("itemsToParse gave " + ($arr | type) + ", not an array")}]`,
      `    else ${base} as $base | [ $arr[] as $el | $base | .${name} = $el | __one ] end`,
      `  end`,
    ].join('\n');
  } else body = '[ __one ]';
  defs.push(`def __item: try (\n${body}\n) catch [{"i": (. | tostring)}];`);
  const program = `${defs.join('\n')}\n__item\n`;
  // One output line per batch: jq flushes once per batch instead of once per item.
  const batchProgram = `${defs.join('\n')}\n[ .[] | __item ]\n`;
  return { program, batchProgram, query, itemsToParse, fields };
}

function labelOf(path: Array<string | number>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** Every jq expression of a resource with its place, for compile checks. */
export function expressionsOf(resource: ResourceConfig): Array<{ field: string; path: Array<string | number>; expr: string }> {
  const compiled = compileResource(resource);
  const out: Array<{ field: string; path: Array<string | number>; expr: string }> = [
    { field: 'selector.query', path: ['selector', 'query'], expr: compiled.query },
  ];
  if (compiled.itemsToParse) out.push({ field: 'port.itemsToParse', path: ['port', 'itemsToParse'], expr: compiled.itemsToParse });
  for (const f of compiled.fields) {
    out.push({ field: `port.entity.mappings.${f.label}`, path: ['port', 'entity', 'mappings', ...f.path], expr: f.expr });
  }
  return out;
}
