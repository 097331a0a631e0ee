import { IncompleteListingError } from '../ado/errors.js';
import { getList, postList } from '../ado/paging.js';
import { mergeMap } from '../util/asyncIter.js';
import { API } from './shared/api.js';
import { listProjects, projectsChangedSince, type ProjectRef } from './shared/listings.js';
import { deletedItems, eventProject, eventProjectId, field, missing, numericId, upserted } from './shared/events.js';
import type { EventOutcome, FetchContext, KindDefinition, RawItem, SelectorOf, SelectorSchema, ServiceHookEvent } from './types.js';

const selectorSchema = {
  type: 'object',
  properties: {
    wiql: { type: 'string', description: 'WIQL condition ANDed to the project filter; an ORDER BY disables id paging (max 19,999 per project)' },
    expand: { type: 'string', enum: ['None', 'Fields', 'Relations', 'Links', 'All'], default: 'All', description: '$expand of the work items GET' },
  },
} as const satisfies SelectorSchema;

type WorkItemSelector = SelectorOf<typeof selectorSchema>;

/** WIQL answers at most 20,000 ids; asking for 19,999 tells a full page ("maybe more") from the last one. */
export const WIQL_PAGE = 19_999;
/** The work items GET accepts at most 200 ids. */
export const WORK_ITEMS_PER_REQUEST = 200;
/** Batches of one project fetched at once (projects run 5 at a time; the client bounds the total). */
const BATCHES_IN_FLIGHT = 3;

/** Escapes a string for a single-quoted WIQL literal. */
export function wiqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * The resync's WIQL condition in one project, declared once for the listing and for events: the project, and the
 * selector's own condition (without its ORDER BY).
 */
function workItemCondition(project: ProjectRef, where: string | undefined): string {
  const inProject = `[System.TeamProject] = ${wiqlString(project.name)}`;
  return where ? `${inProject} AND (${where})` : inProject;
}

/** Splits a user WIQL fragment into its condition and a trailing ORDER BY clause, if any. */
export function splitOrderBy(wiql: string): { where: string; orderBy?: string } {
  const m = /\border\s+by\b/i.exec(wiql);
  if (!m) return { where: wiql.trim() };
  return { where: wiql.slice(0, m.index).trim(), orderBy: wiql.slice(m.index).trim() };
}

/**
 * Per project: WIQL for ids in id order, `$top` 19,999, continuing after the last id while a page is full; then the
 * items by ids in batches of 200 with `$expand`. A user `wiql` with its own ORDER BY runs once (at most 19,999 items
 * per project), with a warning, since id paging would change its order.
 */
async function* fetchWorkItems(ctx: FetchContext, selector: WorkItemSelector, since?: Date): AsyncGenerator<RawItem[]> {
  const projects = since ? await projectsChangedSince(ctx, 'work-item', since) : await listProjects(ctx);
  let user = selector.wiql?.trim() ? splitOrderBy(selector.wiql) : undefined;
  if (since) {
    // With timePrecision, WIQL compares dates to the second instead of the day.
    const changed = `[System.ChangedDate] >= ${wiqlString(since.toISOString())}`;
    user = { ...user, where: user?.where ? `(${user.where}) AND ${changed}` : changed };
  }
  if (user?.orderBy) {
    ctx.log.warn(
      { kind: 'work-item', wiql: selector.wiql },
      `the work-item wiql has its own ORDER BY: one query per project, at most ${WIQL_PAGE} work items each (no id paging)`,
    );
  }
  yield* mergeMap(projects, (p) => projectWorkItems(ctx, p, selector.expand, user, since !== undefined), 5);
}

async function* projectWorkItems(
  ctx: FetchContext,
  project: ProjectRef,
  expand: string,
  user: { where: string; orderBy?: string } | undefined,
  timePrecision = false,
): AsyncGenerator<RawItem[]> {
  let lastId = 0;
  while (true) {
    let query = `SELECT [System.Id] FROM WorkItems WHERE ${workItemCondition(project, user?.where)}`;
    if (user?.orderBy) query += ` ${user.orderBy}`;
    else query += ` AND [System.Id] > ${lastId} ORDER BY [System.Id] ASC`;
    const { ids, full } = await wiqlIds(ctx, project, query, timePrecision);
    const chunks: number[][] = [];
    for (let i = 0; i < ids.length; i += WORK_ITEMS_PER_REQUEST) chunks.push(ids.slice(i, i + WORK_ITEMS_PER_REQUEST));
    const batch = async function* (chunk: number[]): AsyncGenerator<RawItem[]> {
      const page = await workItemsByIds(ctx, project, chunk, expand);
      if (page.length > 0) yield page;
    };
    yield* mergeMap(chunks, batch, BATCHES_IN_FLIGHT);
    if (user?.orderBy || !full || ids.length === 0) return;
    const next = Math.max(...ids);
    // A full page that does not move past the last id would be asked again and again.
    if (next <= lastId) throw new IncompleteListingError(`project "${project.name}": WIQL answered no id above ${lastId} (id paging does not advance)`);
    lastId = next;
  }
}

/**
 * One batch, proven as any listing (a silently short batch would delete entities), and never more items than ids. With
 * `errorPolicy=Omit` an item deleted since the WIQL comes back as null instead of failing the whole batch.
 */
async function workItemsByIds(ctx: FetchContext, project: ProjectRef, ids: number[], expand: string): Promise<RawItem[]> {
  const url = ctx.client.url(`${encodeURIComponent(project.id)}/_apis/wit/workitems`);
  const query = { ids: ids.join(','), $expand: expand, errorPolicy: 'Omit', 'api-version': API.ga };
  const value = await getList<unknown>(ctx.client, url, query, { maxItems: ids.length, signal: ctx.signal });
  const out: RawItem[] = [];
  for (const item of value) {
    if (!item || typeof item !== 'object') continue;
    out.push(Object.assign(item as RawItem, { __projectId: project.id, __project: project }));
  }
  return out;
}

export const workItemKind: KindDefinition<WorkItemSelector> = {
  kind: 'work-item',
  description: 'Work items of every project, optionally filtered by a WIQL condition',
  serverSupported: false,
  docs: {
    endpoints:
      'POST {project}/_apis/wit/wiql?$top=19999 per project (id-range paging), then GET {project}/_apis/wit/workitems?ids=<≤200>&$expand=',
    enrichment: ['__projectId', '__project'],
  },
  selectorSchema,
  fetch: (ctx, selector) => fetchWorkItems(ctx, selector),
  incremental: {
    reads: "per project, WIQL `[System.ChangedDate] >= 'cursor'` (timePrecision=true) ANDed to the selector's wiql, then the items by ids; with a journal of service-hook events covering the window (`serve`), only the projects with its events since the cursor",
    since: fetchWorkItems,
  },
  events: {
    subscriptions: ['workitem.created', 'workitem.updated', 'workitem.commented', 'workitem.deleted', 'workitem.restored'].map((eventType) => ({ publisherId: 'tfs' as const, eventType })),
    handle: workItemEvent,
  },
};

/**
 * Refetches the work item (in its project, with the selector's `$expand`) and checks it with the resync's WIQL condition
 * (its project, and the selector's wiql). A deleted, missing or no longer matching item is removed; the removed item carries its project (`__projectId`,
 * `__project`) so mappings that use them still name the entity (Ocean drops the project on delete).
 */
async function workItemEvent(ctx: FetchContext, event: ServiceHookEvent, selector: WorkItemSelector): Promise<EventOutcome> {
  const r = event.resource;
  // workitem.updated carries an update: `id` is the update's, the work item is `workItemId` (and `revision`).
  const id = numericId(r.workItemId) ?? numericId(field(r, 'revision', 'id')) ?? numericId(r.id);
  if (id === undefined) throw missing(event, 'work item id (resource.workItemId or resource.id)');
  const projectId = eventProjectId(event) ?? field<string>(r, 'revision', 'fields', 'System.TeamProject');
  if (!projectId) throw missing(event, 'project (resourceContainers.project.id)');
  // A project gone or not listed: the resync produces none of its work items.
  const { project, listed } = await eventProject(ctx, projectId);
  const gone = (): EventOutcome => {
    const fields = (field<RawItem>(r, 'revision', 'fields') ?? field<RawItem>(r, 'fields') ?? {}) as RawItem;
    return deletedItems({ id, rev: r.rev, fields: flatFields(fields), url: r.url, __projectId: project.id, __project: project });
  };
  if (event.eventType === 'workitem.deleted' || !listed) return gone();
  const [item] = await workItemsByIds(ctx, project, [id], selector.expand);
  if (!item) return gone();
  // The resync's own condition, always: without a selector wiql it still keeps only the project's items (a work item
  // moved to another project is removed here, and written by its new project's events).
  if (!(await matchesResync(ctx, project, id, selector.wiql))) return gone();
  return upserted(item);
}

/** `workitem.updated` fields are `{oldValue, newValue}` pairs; a removed item's mapping expects plain values. */
function flatFields(fields: RawItem): RawItem {
  const out: RawItem = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v && typeof v === 'object' && 'newValue' in (v as RawItem) ? (v as RawItem).newValue : v;
  }
  return out;
}

async function matchesResync(ctx: FetchContext, project: ProjectRef, id: number, wiql: string | undefined): Promise<boolean> {
  const where = wiql?.trim() ? splitOrderBy(wiql).where : undefined;
  const query = `SELECT [System.Id] FROM WorkItems WHERE ${workItemCondition(project, where)} AND [System.Id] = ${id}`;
  return (await wiqlIds(ctx, project, query)).ids.includes(id);
}

/**
 * One WIQL query in a project: the work item ids, and whether the answer was a full page (more may follow). A body
 * without a `workItems` list throws: read as "none", it would delete entities.
 */
async function wiqlIds(ctx: FetchContext, project: ProjectRef, query: string, timePrecision = false): Promise<{ ids: number[]; full: boolean }> {
  const workItems = await postList<{ id?: unknown } | null>(ctx.client, ctx.client.url(`${encodeURIComponent(project.id)}/_apis/wit/wiql`), { query }, {
    query: { $top: WIQL_PAGE, timePrecision: timePrecision || undefined, 'api-version': API.ga },
    itemsKey: 'workItems',
    maxItems: WIQL_PAGE,
    signal: ctx.signal,
  });
  const ids = workItems.map((w) => w?.id).filter((id): id is number => typeof id === 'number' && Number.isInteger(id));
  return { ids, full: workItems.length >= WIQL_PAGE };
}
