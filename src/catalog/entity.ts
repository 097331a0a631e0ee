/** Port search query, usable as identifier, team or relation value ("map by property"). */
export interface SearchQuery {
  combinator: string;
  rules: Array<SearchRule | SearchQuery>;
}

export interface SearchRule {
  property: string;
  operator: string;
  value: unknown;
}

/** A catalog entity in Port's shape. */
export interface Entity {
  identifier: string | SearchQuery;
  blueprint: string;
  title?: string | null;
  icon?: string | null;
  team?: string | string[] | SearchQuery | null;
  properties: Record<string, unknown>;
  relations: Record<string, unknown>;
}

/** Where an entity came from, for reports and stale deletion bookkeeping. */
export interface EntityOrigin {
  organization: string;
  resourceIndex: number;
  kind: string;
}

export function isSearchQuery(value: unknown): value is SearchQuery {
  return typeof value === 'object' && value !== null && 'combinator' in value && 'rules' in value;
}

/** Stable key of an entity with a plain identifier: `blueprint/identifier`. */
export function entityKey(e: Pick<Entity, 'blueprint' | 'identifier'>): string | undefined {
  return typeof e.identifier === 'string' ? `${e.blueprint}\u0000${e.identifier}` : undefined;
}

/** The entity identifiers a relation value names directly (search-query relations resolve in Port and name none here). */
export function relationIds(relations: Record<string, unknown> | undefined): string[] {
  const out: string[] = [];
  for (const v of Object.values(relations ?? {})) {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) for (const x of v) if (typeof x === 'string') out.push(x);
  }
  return out;
}
