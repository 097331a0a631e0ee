/**
 * In-memory catalog behind the Port simulator: blueprints, entities, validation of entities against their blueprint
 * (ajv for properties; relation definitions and targets by hand), search and deletion with dependents.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { isQuery, matches, QueryError, type Query } from './query.js';
import type { Blueprint, BlueprintRelation, StoredEntity } from './types.js';

type AddFormats = (ajv: Ajv) => Ajv;
const addFormats: AddFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  addFormatsModule) as unknown as AddFormats;

/** Formats Port accepts that JSON Schema has no validator for; the simulator accepts any string for them. */
const PORT_ONLY_FORMATS = ['markdown', 'yaml', 'user', 'team', 'timer', 'proto', 'blueprints', 'labeled-url', 'idn-email'];

const ENTITY_ID = /^(?!\.{1,2}$)[\p{L}0-9@_.+:\\/=-]+$/u;
const BLUEPRINT_ID = /^[A-Za-z0-9@_.+:\\/-]+$/;
const META_USER = 'simulated-machine-user';

/** A Port API error: status plus the `{ok:false, error, message}` envelope. */
export class SimError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
  body(): { ok: false; error: string; message: string } {
    return { ok: false, error: this.error, message: this.message };
  }
}

export interface UpsertFlags {
  upsert: boolean;
  merge: boolean;
  createMissingRelatedEntities: boolean;
  validationOnly: boolean;
}

export type PublicEntity = Omit<StoredEntity, 'datasource'>;

function clone<T>(x: T): T {
  return structuredClone(x);
}

export function publicEntity(e: StoredEntity): PublicEntity {
  const { datasource: _ignored, ...rest } = e;
  return clone(rest);
}

export class PortStore {
  readonly blueprints = new Map<string, Blueprint>();
  readonly entities = new Map<string, Map<string, StoredEntity>>();
  readonly #validators = new Map<string, ValidateFunction>();
  readonly #ajv: Ajv;
  /** Identifier sets change (creation, deletion) bump the blueprint's version; the sorted index is rebuilt lazily. */
  readonly #versions = new Map<string, number>();
  readonly #sorted = new Map<string, { version: number; size: number; ids: string[] }>();

  /** `now` stamps createdAt/updatedAt; tests pass a controllable clock. */
  constructor(private readonly now: () => number = Date.now) {
    this.#ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(this.#ajv);
    // ajv-formats' `url` rejects loopback and private hosts; any absolute http(s) URL is a URL to Port.
    this.#ajv.addFormat('url', (v: string) => {
      try {
        return /^https?:$/.test(new URL(v).protocol);
      } catch {
        return false;
      }
    });
    for (const f of PORT_ONLY_FORMATS) if (!this.#ajv.formats[f]) this.#ajv.addFormat(f, true);
  }

  // ---------------------------------------------------------------- blueprints

  blueprint(id: string): Blueprint {
    const bp = this.blueprints.get(id);
    if (!bp) throw new SimError(404, 'not_found', `Blueprint with identifier "${id}" was not found`);
    return bp;
  }

  createBlueprint(body: unknown): Blueprint {
    if (typeof body !== 'object' || body === null) throw new SimError(422, 'invalid_request', 'body must be an object');
    const b = body as Partial<Blueprint>;
    if (typeof b.identifier !== 'string' || !BLUEPRINT_ID.test(b.identifier) || b.identifier.length > 100) {
      throw new SimError(422, 'invalid_request', 'identifier is missing or invalid');
    }
    if (typeof b.title !== 'string' || b.title.length === 0) throw new SimError(422, 'invalid_request', 'title is required');
    if (typeof b.schema !== 'object' || b.schema === null || typeof b.schema.properties !== 'object') {
      throw new SimError(422, 'invalid_request', 'schema.properties is required');
    }
    if (this.blueprints.has(b.identifier)) {
      throw new SimError(409, 'identifier_taken', `A blueprint with identifier "${b.identifier}" already exists`);
    }
    const bp = clone({ relations: {}, ...b }) as Blueprint;
    this.#checkRelationDefs(bp.identifier, bp.relations ?? {});
    this.#checkSchema(bp);
    const now = new Date(this.now()).toISOString();
    Object.assign(bp, { createdAt: now, updatedAt: now, createdBy: META_USER, updatedBy: META_USER });
    this.blueprints.set(bp.identifier, bp);
    this.entities.set(bp.identifier, new Map());
    return clone(bp);
  }

  patchBlueprint(id: string, body: unknown): Blueprint {
    const existing = this.blueprint(id);
    if (typeof body !== 'object' || body === null) throw new SimError(422, 'invalid_request', 'body must be an object');
    const patch = clone(body as Partial<Blueprint>);
    if (patch.identifier !== undefined && patch.identifier !== id) {
      throw new SimError(422, 'invalid_request', 'identifier cannot be changed');
    }
    const next = { ...clone(existing), ...patch, identifier: id } as Blueprint;
    this.#checkRelationDefs(id, next.relations ?? {});
    this.#checkSchema(next);
    next.updatedAt = new Date(this.now()).toISOString();
    this.blueprints.set(id, next);
    this.#validators.delete(id);
    return clone(next);
  }

  deleteBlueprint(id: string): void {
    this.blueprint(id);
    if ((this.entities.get(id)?.size ?? 0) > 0) {
      throw new SimError(422, 'has_entities', `Blueprint "${id}" still has entities`);
    }
    for (const other of this.blueprints.values()) {
      if (other.identifier === id) continue;
      for (const rel of Object.values(other.relations ?? {})) {
        if (rel.target === id) throw new SimError(422, 'has_dependents', `Blueprint "${other.identifier}" relates to "${id}"`);
      }
    }
    this.blueprints.delete(id);
    this.entities.delete(id);
    this.#validators.delete(id);
  }

  #checkRelationDefs(self: string, relations: Record<string, BlueprintRelation>): void {
    for (const [name, rel] of Object.entries(relations)) {
      if (typeof rel !== 'object' || rel === null || typeof rel.target !== 'string') {
        throw new SimError(422, 'invalid_request', `relation "${name}" needs a target`);
      }
      if (rel.target !== self && !this.blueprints.has(rel.target)) {
        throw new SimError(404, 'not_found', `Relation "${name}" targets blueprint "${rel.target}", which was not found`);
      }
    }
  }

  #checkSchema(bp: Blueprint): void {
    try {
      this.#ajv.compile(this.#entitySchema(bp));
    } catch (err) {
      throw new SimError(422, 'invalid_request', `blueprint schema is invalid: ${(err as Error).message}`);
    }
  }

  #entitySchema(bp: Blueprint): object {
    return {
      type: 'object',
      properties: bp.schema.properties,
      required: bp.schema.required ?? [],
      additionalProperties: false,
    };
  }

  #validator(bp: Blueprint): ValidateFunction {
    let v = this.#validators.get(bp.identifier);
    if (!v) {
      v = this.#ajv.compile(this.#entitySchema(bp));
      this.#validators.set(bp.identifier, v);
    }
    return v;
  }

  // ---------------------------------------------------------------- entities

  entityMap(bp: string): Map<string, StoredEntity> {
    this.blueprint(bp);
    return this.entities.get(bp)!;
  }

  /**
   * Creates or updates one entity. Throws SimError with the per-entity status on refusal; nothing is written then.
   * Takes ownership of `input`; returns the stored record itself (hand it out through `publicEntity`, which copies).
   */
  upsertEntity(bpId: string, input: unknown, flags: UpsertFlags, userAgent: string): { entity: StoredEntity; created: boolean } {
    const bp = this.blueprint(bpId);
    const map = this.entities.get(bpId)!;
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new SimError(422, 'invalid_request', 'entity must be an object');
    }
    const e = input as Record<string, unknown>;

    let identifier: string;
    if (isQuery(e.identifier)) {
      const found = this.#search(bpId, e.identifier);
      if (found.length === 0) throw new SimError(404, 'not_found', 'No entity matched the identifier search query');
      if (found.length > 1) throw new SimError(422, 'invalid_request', 'The identifier search query matched more than one entity');
      identifier = found[0]!.identifier;
    } else if (typeof e.identifier === 'string' && ENTITY_ID.test(e.identifier) && e.identifier.length <= 1000) {
      identifier = e.identifier;
    } else {
      throw new SimError(422, 'invalid_request', `identifier ${JSON.stringify(e.identifier)} is missing or invalid`);
    }

    const existing = map.get(identifier);
    if (existing && !flags.upsert) {
      throw new SimError(409, 'identifier_taken', `Entity "${identifier}" of blueprint "${bpId}" already exists`);
    }
    const props = e.properties ?? {};
    const rels = e.relations ?? {};
    if (typeof props !== 'object' || props === null || Array.isArray(props)) {
      throw new SimError(422, 'invalid_request', 'properties must be an object');
    }
    if (typeof rels !== 'object' || rels === null || Array.isArray(rels)) {
      throw new SimError(422, 'invalid_request', 'relations must be an object');
    }
    const merging = existing !== undefined && flags.merge;
    // The input is owned from here on (a freshly parsed request body), so its properties are kept, not copied.
    const properties = merging ? { ...existing.properties, ...(props as Record<string, unknown>) } : { ...(props as Record<string, unknown>) };
    const relationsIn = merging ? { ...existing.relations, ...(rels as Record<string, unknown>) } : (rels as Record<string, unknown>);

    // Properties: null means "unset"; everything else must match the blueprint schema.
    const present: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(properties)) {
      if (v === null || v === undefined) continue;
      if (k === '__proto__') Object.defineProperty(present, k, { value: v, enumerable: true, writable: true, configurable: true });
      else present[k] = v;
    }
    const validate = this.#validator(bp);
    if (!validate(present)) {
      const detail = (validate.errors ?? []).map((er) => `${er.instancePath || '/'} ${er.message ?? ''}`.trim()).join('; ');
      throw new SimError(422, 'invalid_request', `Entity "${identifier}" does not match the schema of blueprint "${bpId}": ${detail}`);
    }

    // Relations: defined on the blueprint, right cardinality, targets exist (or are created as stubs).
    const relations: Record<string, string | string[] | null> = {};
    const stubs: Array<{ blueprint: string; identifier: string }> = [];
    const defs = bp.relations ?? {};
    for (const [name, raw] of Object.entries(relationsIn)) {
      const def = defs[name];
      if (!def) throw new SimError(422, 'invalid_request', `Relation "${name}" is not defined on blueprint "${bpId}"`);
      relations[name] = this.#resolveRelation(bpId, identifier, name, def, raw, flags.createMissingRelatedEntities, stubs);
    }
    for (const [name, def] of Object.entries(defs)) {
      const v = relations[name];
      if (def.required && (v === undefined || v === null || (Array.isArray(v) && v.length === 0))) {
        throw new SimError(422, 'invalid_request', `Required relation "${name}" is missing on entity "${identifier}"`);
      }
    }

    const now = new Date(this.now()).toISOString();
    const entity: StoredEntity = {
      identifier,
      blueprint: bpId,
      title: 'title' in e ? (e.title as string | null) : merging ? existing.title : null,
      icon: 'icon' in e ? (e.icon as string | null) : merging ? existing.icon : null,
      team: 'team' in e ? (e.team as string | string[] | null) : merging ? existing.team : null,
      properties,
      relations,
      createdAt: existing?.createdAt ?? now,
      createdBy: existing?.createdBy ?? META_USER,
      updatedAt: now,
      updatedBy: META_USER,
      datasource: userAgent,
    };
    if (flags.validationOnly) return { entity, created: !existing };
    for (const s of stubs) {
      const target = this.entities.get(s.blueprint)!;
      if (target.has(s.identifier)) continue;
      this.#touch(s.blueprint);
      target.set(s.identifier, {
        identifier: s.identifier,
        blueprint: s.blueprint,
        title: null,
        icon: null,
        team: null,
        properties: {},
        relations: {},
        createdAt: now,
        updatedAt: now,
        createdBy: META_USER,
        updatedBy: META_USER,
        datasource: userAgent,
      });
    }
    if (!existing) this.#touch(bpId);
    map.set(identifier, entity);
    return { entity, created: !existing };
  }

  #resolveRelation(
    selfBlueprint: string,
    self: string,
    name: string,
    def: BlueprintRelation,
    raw: unknown,
    createMissing: boolean,
    stubs: Array<{ blueprint: string; identifier: string }>,
  ): string | string[] | null {
    if (raw === null || raw === undefined) return null;
    const targets = this.entities.get(def.target)!;
    if (isQuery(raw)) {
      const found = this.#search(def.target, raw).map((t) => t.identifier);
      if (found.length > 100) throw new SimError(422, 'invalid_request', `Relation "${name}" search matched more than 100 entities`);
      if (def.many) return found;
      if (found.length !== 1) {
        throw new SimError(404, 'not_found', `Relation "${name}" search matched ${found.length} entities of "${def.target}", expected one`);
      }
      return found[0]!;
    }
    const ids = Array.isArray(raw) ? raw : [raw];
    if (!def.many && Array.isArray(raw)) throw new SimError(422, 'invalid_request', `Relation "${name}" is not "many"`);
    for (const id of ids) {
      if (typeof id !== 'string' || !ENTITY_ID.test(id)) {
        throw new SimError(422, 'invalid_request', `Relation "${name}" has an invalid target ${JSON.stringify(id)}`);
      }
      const selfReference = def.target === selfBlueprint && id === self;
      if (targets.has(id) || selfReference) continue;
      if (!createMissing) {
        throw new SimError(
          404,
          'not_found',
          `Relation "${name}": related entity "${id}" of blueprint "${def.target}" was not found`,
        );
      }
      stubs.push({ blueprint: def.target, identifier: id });
    }
    return Array.isArray(raw) ? [...(raw as string[])] : (raw as string);
  }

  #search(bp: string, query: Query | undefined): StoredEntity[] {
    const map = this.entityMap(bp);
    try {
      return [...map.values()].filter((e) => matches(e, query));
    } catch (err) {
      if (err instanceof QueryError) throw new SimError(422, 'invalid_request', err.message);
      throw err;
    }
  }

  /** Entities of one blueprint matching `query`, sorted by identifier (stable paging). */
  search(bp: string, query: Query | undefined): StoredEntity[] {
    return this.#search(bp, query).sort((a, b) => (a.identifier < b.identifier ? -1 : a.identifier > b.identifier ? 1 : 0));
  }

  /**
   * One page of `search`: matching entities with an identifier after `after`, at most `limit`, and whether more
   * match. Walks a sorted identifier index (rebuilt only when the blueprint's identifiers changed), so a page costs
   * O(page) rather than a filter and sort of the whole blueprint — a 400k-entity listing stays linear.
   */
  searchPage(bp: string, query: Query | undefined, after: string | undefined, limit: number): { entities: StoredEntity[]; more: boolean } {
    const map = this.entityMap(bp);
    const version = this.#versions.get(bp) ?? 0;
    let index = this.#sorted.get(bp);
    if (!index || index.version !== version || index.size !== map.size) {
      index = { version, size: map.size, ids: [...map.keys()].sort() };
      this.#sorted.set(bp, index);
    }
    const ids = index.ids;
    let lo = 0;
    if (after !== undefined) {
      let hi = ids.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((ids[mid] as string) <= after) lo = mid + 1;
        else hi = mid;
      }
    }
    const entities: StoredEntity[] = [];
    try {
      for (let i = lo; i < ids.length; i++) {
        const e = map.get(ids[i] as string);
        if (!e || !matches(e, query)) continue;
        if (entities.length === limit) return { entities, more: true };
        entities.push(e);
      }
    } catch (err) {
      if (err instanceof QueryError) throw new SimError(422, 'invalid_request', err.message);
      throw err;
    }
    return { entities, more: false };
  }

  #touch(bp: string): void {
    this.#versions.set(bp, (this.#versions.get(bp) ?? 0) + 1);
  }

  searchAll(query: Query | undefined): StoredEntity[] {
    const out: StoredEntity[] = [];
    for (const bp of this.blueprints.keys()) out.push(...this.search(bp, query));
    return out;
  }

  /** Entities (any blueprint) with a relation pointing at one of `ids` of blueprint `bp`, excluding `exclude`. */
  dependents(bp: string, ids: Set<string>, exclude: Set<string> = new Set()): StoredEntity[] {
    const out: StoredEntity[] = [];
    for (const [otherId, other] of this.blueprints) {
      const relNames = Object.entries(other.relations ?? {})
        .filter(([, r]) => r.target === bp)
        .map(([n]) => n);
      if (relNames.length === 0) continue;
      for (const e of this.entities.get(otherId)!.values()) {
        if (exclude.has(`${otherId}\u0000${e.identifier}`)) continue;
        const hit = relNames.some((n) => {
          const v = e.relations[n];
          return Array.isArray(v) ? v.some((x) => ids.has(x)) : typeof v === 'string' && ids.has(v);
        });
        if (hit) out.push(e);
      }
    }
    return out;
  }

  /**
   * Deletes entities of one blueprint. Without `deleteDependents`, refuses the whole call if any entity outside the
   * set relates to one inside it; with it, deletes those dependents too (recursively). Unknown identifiers are ignored.
   */
  deleteEntities(bp: string, ids: string[], deleteDependents: boolean): string[] {
    const map = this.entityMap(bp);
    const present = new Set(ids.filter((id) => map.has(id)));
    const inSet = new Set([...present].map((id) => `${bp}\u0000${id}`));
    const deps = this.dependents(bp, present, inSet);
    if (deps.length > 0 && !deleteDependents) {
      const names = deps.slice(0, 5).map((d) => `${d.blueprint}/${d.identifier}`);
      throw new SimError(
        422,
        'has_dependents',
        `Cannot delete: ${deps.length} entit${deps.length === 1 ? 'y relates' : 'ies relate'} to them (${names.join(', ')}); use delete_dependents=true`,
      );
    }
    if (present.size > 0) this.#touch(bp);
    for (const id of present) map.delete(id);
    for (const d of deps) {
      if (this.entities.get(d.blueprint)?.has(d.identifier)) this.deleteEntities(d.blueprint, [d.identifier], true);
    }
    return [...present];
  }
}
