import type { ResourceConfig } from '../config/appConfig.js';
import type { Entity } from '../catalog/entity.js';
import type { RawItem } from '../kinds/types.js';
import { compileResource, type CompiledResource, type FieldSpec } from './compile.js';
import { JqPool } from './jqPool.js';
import { analyseProjection } from './projection/analysis.js';
import { projectItem, type Projection } from './projection/project.js';
import { MappingReport } from './report.js';

export interface MapperOptions {
  /** jq processes for this resource; defaults to the number of cores. */
  poolSize: number;
  /** Items per batch sent to one jq process. */
  batchSize?: number;
  /** Send jq only the parts of each item the mapping can read, when that provably changes nothing (default true). */
  projection?: boolean;
}

type FieldResult = [] | [unknown] | { e: string };
type Candidate = 0 | { q: string } | { i: string } | FieldResult[];

/**
 * Maps a stream of raw item pages to entity pages for one resource, through a pool of long-lived jq processes. Pages
 * are mapped concurrently (a bounded window, so a slow sink slows the fetcher) and yielded in input order.
 */
export class ResourceMapper {
  readonly compiled: CompiledResource;
  readonly report = new MappingReport();
  /** What of each item is sent to jq, or undefined when whole items are sent (see projection/). */
  readonly projection: Projection | undefined;
  readonly #pool: JqPool;
  readonly #batchSize: number;
  readonly #window: number;

  constructor(
    readonly resource: ResourceConfig,
    options: MapperOptions,
  ) {
    this.compiled = compileResource(resource);
    const c = this.compiled;
    const expressions = [c.query, ...(c.itemsToParse ? [c.itemsToParse] : []), ...c.fields.map((f) => f.expr)];
    this.projection = options.projection === false ? undefined : analyseProjection(expressions);
    this.#pool = new JqPool(this.compiled.batchProgram, Math.max(1, options.poolSize));
    this.#batchSize = options.batchSize ?? 200;
    this.#window = Math.max(4, options.poolSize * 4);
  }

  async *mapPages(pages: AsyncIterable<RawItem[]>): AsyncGenerator<Entity[]> {
    const projection = this.projection;
    yield* this.#inOrder(pages, (batch) => this.#pool.map(projection ? batch.map((item) => projectItem(item, projection)) : batch));
  }

  /** Batches of each page through `run`, a bounded window of them in flight (backpressure), results in input order. */
  async *#inOrder<T>(pages: AsyncIterable<T[]>, run: (batch: T[]) => Promise<unknown[]>): AsyncGenerator<Entity[]> {
    const inFlight: Array<Promise<Entity[]>> = [];
    for await (const page of pages) {
      this.report.rawItems += page.length;
      for (let i = 0; i < page.length; i += this.#batchSize) {
        const p = run(page.slice(i, i + this.#batchSize)).then((out) => this.#decode(out as Candidate[][]));
        p.catch(() => {}); // awaited below in order; avoids an unhandled rejection while earlier batches finish
        inFlight.push(p);
        while (inFlight.length >= this.#window) yield await inFlight.shift()!;
      }
    }
    while (inFlight.length > 0) yield await inFlight.shift()!;
  }

  /** Maps one batch of items (the `map` command and webhook events use this). */
  async mapItems(items: RawItem[]): Promise<Entity[]> {
    const out: Entity[] = [];
    for await (const page of this.mapPages(single(items))) out.push(...page);
    return out;
  }

  #decode(results: Candidate[][]): Entity[] {
    const entities: Entity[] = [];
    for (const candidates of results) {
      for (const c of candidates) {
        if (c === 0) {
          this.report.candidates++;
          this.report.filtered++;
        } else if (Array.isArray(c)) {
          this.report.candidates++;
          const entity = this.#build(c);
          if (entity) entities.push(entity);
        } else if ('q' in c) {
          this.report.candidates++;
          this.report.filtered++;
          this.report.fieldError('selector.query', this.compiled.query, c.q);
        } else {
          this.report.fieldError('port.itemsToParse', this.compiled.itemsToParse ?? '', c.i);
        }
      }
    }
    this.report.entities += entities.length;
    return entities;
  }

  #build(results: FieldResult[]): Entity | undefined {
    const entity: Record<string, unknown> = { properties: {}, relations: {} };
    const fields = this.compiled.fields;
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i]!;
      const r = results[i];
      let value: unknown = null;
      if (Array.isArray(r)) value = r.length > 0 ? r[0] : null;
      else if (r) this.report.fieldError(field.label, field.expr, r.e);
      if (value === null && field.omitNull) continue;
      setPath(entity, field, value);
    }
    const e = orderKeys(entity);
    if (typeof e.identifier === 'number') e.identifier = String(e.identifier);
    if (typeof e.identifier === 'string' ? e.identifier === '' : e.identifier === null || typeof e.identifier !== 'object') {
      this.report.drop('identifier is empty');
      return undefined;
    }
    if (typeof e.blueprint !== 'string' || e.blueprint === '') {
      this.report.drop('blueprint is empty');
      return undefined;
    }
    return e;
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }

  /** jq process ids (tests). */
  pids(): number[] {
    return this.#pool.pids();
  }
}

/** Port's field order, so printed entities read naturally. */
function orderKeys(raw: Record<string, unknown>): Entity {
  const { identifier, title, blueprint, icon, team, properties, relations } = raw;
  const e: Record<string, unknown> = { identifier, title, blueprint };
  if (icon !== undefined) e.icon = icon;
  if (team !== undefined) e.team = team;
  e.properties = properties;
  e.relations = relations;
  if (title === undefined) delete e.title;
  return e as unknown as Entity;
}

function setPath(target: Record<string, unknown>, field: FieldSpec, value: unknown): void {
  let node: Record<string | number, unknown> = target;
  const path = field.path;
  for (let i = 0; i < path.length - 1; i++) {
    const seg = path[i]!;
    let next = node[seg] as Record<string | number, unknown> | undefined;
    if (next === undefined || next === null) {
      next = (typeof path[i + 1] === 'number' ? [] : {}) as Record<string | number, unknown>;
      node[seg] = next;
    }
    node = next;
  }
  node[path[path.length - 1]!] = value;
}

async function* single<T>(x: T): AsyncGenerator<T> {
  yield x;
}
