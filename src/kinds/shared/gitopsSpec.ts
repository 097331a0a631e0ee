/**
 * GitOps spec files (`port.yml`, issue #22): Port entities declared in a repository, one entity (a mapping) or a list
 * of them. `file://PATH` values (at any depth in `properties` and `relations`, and `title`, `icon`, `team`) are
 * replaced by that file's content at the same commit, JSON-parsed when PATH ends in `.json`; PATH is relative to the
 * spec file's folder, a leading `/` means the repository root. Pure: no network, no logging; files come from `read`.
 */
import yaml from 'js-yaml';
import { lineOf, loadYamlWithPositions, type PositionNode } from '../../util/yamlPositions.js';

export interface SpecEntity {
  identifier: string;
  blueprint: string;
  title?: string;
  icon?: string;
  team?: string | string[];
  properties: Record<string, unknown>;
  relations: Record<string, unknown>;
}

/** A problem in a spec file: where (1-based line when known), which entity (its identifier, or `#<index>` when it has none), what. */
export interface SpecProblem {
  path: string;
  line?: number;
  entity?: string;
  message: string;
}

export interface SpecEntry {
  entity: SpecEntity;
  index: number;
  line?: number;
}

export interface ParsedSpec {
  entries: SpecEntry[];
  problems: SpecProblem[];
  /** repository paths of the file:// references it read (for push handling), also those that did not exist */
  references: string[];
}

/** Reads a repository file at the spec's commit: its text, or undefined when it does not exist. */
export type RepoFileReader = (repoPath: string) => Promise<string | undefined>;

export const FILE_PREFIX = 'file://';
export const ENTITY_KEYS = ['identifier', 'title', 'blueprint', 'properties', 'relations', 'team', 'icon'] as const;

/** Path segments of `ref` (with or without `file://`) from the spec's folder; undefined when it climbs above the root. */
function referenceSegments(specPath: string, ref: string): string[] | undefined {
  const target = ref.startsWith(FILE_PREFIX) ? ref.slice(FILE_PREFIX.length) : ref;
  const parts = target.startsWith('/') ? [] : specPath.split('/').filter(Boolean).slice(0, -1);
  for (const seg of target.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg !== '..') parts.push(seg);
    else if (parts.pop() === undefined) return undefined;
  }
  return parts;
}

/**
 * `file://x` relative to the spec file `specPath` (a repository path like `/services/api/port.yml`) → a repository
 * path `/services/api/x`; undefined when it climbs above the root (or names no file: `file://`, `file://.`).
 */
export function resolveSpecReference(specPath: string, ref: string): string | undefined {
  const parts = referenceSegments(specPath, ref);
  return parts && parts.length > 0 ? `/${parts.join('/')}` : undefined;
}

type YamlPath = Array<string | number>;

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);

function kindOf(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Date) return 'a date';
  if (typeof v === 'object') return 'a mapping';
  return `a ${typeof v}`;
}

const FAILED = Symbol('failed');

export async function parseSpecFile(text: string, specPath: string, read: RepoFileReader): Promise<ParsedSpec> {
  let data: unknown;
  let root: PositionNode | undefined;
  try {
    ({ data, positions: root } = loadYamlWithPositions(text, specPath));
  } catch (err) {
    if (!(err instanceof yaml.YAMLException)) throw err;
    return { entries: [], problems: [{ path: specPath, line: err.mark ? err.mark.line + 1 : undefined, message: `YAML syntax error: ${err.reason ?? err.message}` }], references: [] };
  }
  const problems: SpecProblem[] = [];
  const references = new Set<string>();
  const reads = new Map<string, Promise<string | undefined>>();
  if (!Array.isArray(data) && !isMapping(data)) {
    problems.push({ path: specPath, line: lineOf(root, []) ?? 1, message: `expected an entity (a mapping) or a list of entities, got ${kindOf(data)}` });
    return { entries: [], problems, references: [] };
  }
  const raws = Array.isArray(data) ? data : [data];
  const base = (index: number): YamlPath => (Array.isArray(data) ? [index] : []);

  const checked: Array<{ entity: SpecEntity; index: number; line?: number; ok: boolean; keyed: boolean }> = [];
  for (const [index, raw] of raws.entries()) {
    const name = isMapping(raw) && typeof raw.identifier === 'string' && raw.identifier !== '' ? raw.identifier : `#${index}`;
    const before = problems.length;
    const problem = (at: YamlPath, message: string) => problems.push({ path: specPath, line: lineOf(root, [...base(index), ...at]), entity: name, message });
    const line = lineOf(root, base(index));
    if (!isMapping(raw)) {
      problem([], `expected an entity (a mapping), got ${kindOf(raw)}`);
      continue;
    }

    /** Replaces `file://` strings at any depth; FAILED (after a problem) when a reference could not be read. */
    const resolve = async (value: unknown, at: YamlPath): Promise<unknown> => {
      if (typeof value === 'string' && value.startsWith(FILE_PREFIX)) return readReference(value, at);
      if (value instanceof Date) return value.toISOString(); // YAML timestamps: Port takes them as strings
      if (Array.isArray(value)) {
        const out = await sequence(value.map((v, i) => () => resolve(v, [...at, i])));
        return out.includes(FAILED) ? FAILED : out;
      }
      if (isMapping(value)) {
        const keys = Object.keys(value);
        const out = await sequence(keys.map((k) => () => resolve(value[k], [...at, k])));
        return out.includes(FAILED) ? FAILED : Object.fromEntries(keys.map((k, i) => [k, out[i]]));
      }
      return value;
    };
    const readReference = async (value: string, at: YamlPath): Promise<unknown> => {
      const where = resolveSpecReference(specPath, value);
      if (where === undefined) {
        problem(at, `${value}: ${referenceSegments(specPath, value) ? 'names no file' : 'climbs above the repository root'}`);
        return FAILED;
      }
      references.add(where);
      if (!reads.has(where)) reads.set(where, read(where));
      const content = await reads.get(where)!;
      if (content === undefined) {
        problem(at, `${value}: ${where} does not exist`);
        return FAILED;
      }
      if (!where.endsWith('.json')) return content;
      try {
        return JSON.parse(content) as unknown;
      } catch (err) {
        problem(at, `${value}: ${where} is not valid JSON: ${(err as Error).message}`);
        return FAILED;
      }
    };

    for (const key of Object.keys(raw)) {
      if (!(ENTITY_KEYS as readonly string[]).includes(key)) problem([key], `unknown key "${key}" (an entity has ${ENTITY_KEYS.join(', ')})`);
    }
    for (const key of ['identifier', 'blueprint'] as const) {
      const v = raw[key];
      if (v === undefined) problem([], `no ${key}`);
      else if (typeof v !== 'string') problem([key], `${key} must be a string, got ${kindOf(v)}`);
      else if (v.trim() === '') problem([key], `${key} is empty`);
      else if (v.startsWith(FILE_PREFIX)) problem([key], `${key} cannot be a ${FILE_PREFIX} reference`);
    }
    const entity: SpecEntity = { identifier: String(raw.identifier), blueprint: String(raw.blueprint), properties: {}, relations: {} };
    for (const key of ['title', 'icon'] as const) {
      if (!(key in raw)) continue;
      const v = await resolve(raw[key], [key]);
      if (v === FAILED) continue;
      if (typeof v === 'string') entity[key] = v;
      else problem([key], `${key} must be a string, got ${kindOf(v)}`);
    }
    if ('team' in raw) {
      const v = await resolve(raw.team, ['team']);
      if (typeof v === 'string' || (Array.isArray(v) && v.every((t) => typeof t === 'string'))) entity.team = v;
      else if (v !== FAILED) problem(['team'], `team must be a string or a list of strings, got ${kindOf(v)}`);
    }
    for (const key of ['properties', 'relations'] as const) {
      if (!(key in raw)) continue;
      if (!isMapping(raw[key])) {
        problem([key], `${key} must be a mapping, got ${kindOf(raw[key])}`);
        continue;
      }
      const v = await resolve(raw[key], [key]);
      if (isMapping(v)) entity[key] = v;
    }
    for (const [relation, target] of Object.entries(entity.relations)) {
      if (target === null || typeof target === 'string' || (Array.isArray(target) && target.every((t) => typeof t === 'string'))) continue;
      problem(['relations', relation], `relation "${relation}" must be an identifier, a list of identifiers or null, got ${kindOf(target)}`);
    }
    checked.push({ entity, index, line, ok: problems.length === before, keyed: typeof raw.identifier === 'string' && typeof raw.blueprint === 'string' });
  }

  // Two entities with one blueprint and identifier would overwrite each other: neither is synced.
  const first = new Map<string, (typeof checked)[number]>();
  for (const c of checked) {
    const { blueprint, identifier } = c.entity;
    if (!c.keyed) continue;
    const key = JSON.stringify([blueprint, identifier]);
    const earlier = first.get(key);
    if (!earlier) {
      first.set(key, c);
      continue;
    }
    earlier.ok = false;
    c.ok = false;
    const at = earlier.line !== undefined ? `the entity at line ${earlier.line}` : `entity #${earlier.index}`;
    problems.push({ path: specPath, line: c.line, entity: identifier, message: `duplicate of ${at} (${blueprint}/${identifier}); neither is synced` });
  }

  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return {
    entries: checked.filter((c) => c.ok).map(({ entity, index, line }) => (line === undefined ? { entity, index } : { entity, index, line })),
    problems,
    references: [...references],
  };
}

/** Runs the steps one after another (problems come in document order; a file read twice is read once). */
async function sequence<T>(steps: Array<() => Promise<T>>): Promise<T[]> {
  const out: T[] = [];
  for (const step of steps) out.push(await step());
  return out;
}
