import { AdoError } from '../ado/errors.js';
import { pagesByContinuation } from '../ado/paging.js';
import { mergeMap } from '../util/asyncIter.js';
import { isHealthyRepository, listRepositories, type RepositoryRef } from './shared/listings.js';
import { deletedItems, eventProjectId, field, getIfExists, missing, numericId, upserted } from './shared/events.js';
import type { EventOutcome, FetchContext, KindDefinition, RawItem, SelectorOf, SelectorSchema, ServiceHookEvent } from './types.js';

/** The alerts API is preview-only. */
const ADVSEC_API = '7.2-preview.1';
const ALERTS_MAX_PAGE = 1000;

const selectorSchema = {
  type: 'object',
  properties: {
    criteria: {
      type: 'object',
      additionalProperties: false,
      properties: {
        states: { type: 'array', items: { type: 'string', enum: ['active', 'dismissed', 'fixed', 'autoDismissed'] } },
        severity: { type: 'array', items: { type: 'string', enum: ['low', 'medium', 'high', 'critical', 'note', 'warning', 'error'] } },
        alertType: { type: 'string', enum: ['dependency', 'code', 'secret'] },
      },
    },
  },
} as const satisfies SelectorSchema;

type AlertSelector = SelectorOf<typeof selectorSchema>;

interface Alert extends RawItem {
  state?: string;
  severity?: string;
  alertType?: string;
}

/** Repositories whose alerts the resync lists, declared once for the listing and for alert events: healthy, not empty. */
function listsAlerts(repo: RepositoryRef): boolean {
  return isHealthyRepository(repo) && repo.defaultBranch !== undefined;
}

/**
 * The selector's `criteria`, declared once: the listing's server-side filter, and the same test on one alert, which the
 * listing applies again to each page so that it and an alert event judge an alert alike (case-insensitively).
 */
function alertCriteria(selector: AlertSelector) {
  const c = selector.criteria ?? {};
  const within = (list: string[] | undefined, v: unknown) => !list?.length || list.some((x) => x.toLowerCase() === String(v).toLowerCase());
  return {
    query: {
      'api-version': ADVSEC_API,
      'criteria.states': c.states?.length ? c.states.join(',') : undefined,
      'criteria.severities': c.severity?.length ? c.severity.join(',') : undefined,
      'criteria.alertType': c.alertType,
    },
    matches: (a: Alert): boolean => within(c.states, a.state) && within(c.severity, a.severity) && within(c.alertType ? [c.alertType] : undefined, a.alertType),
  };
}
type AlertCriteria = ReturnType<typeof alertCriteria>;

/**
 * Advanced Security alerts of every healthy repository (advsec host, one listing per repository: there is no
 * project-level alert list), filtered server-side by `criteria`. A 400 means Advanced Security is not enabled on the
 * repository: it is skipped, as Ocean does. Items get `__repositoryId` and `__projectId`.
 */
async function* fetchAlerts(ctx: FetchContext, selector: AlertSelector): AsyncGenerator<RawItem[]> {
  const repos = (await listRepositories(ctx)).filter(listsAlerts);
  const criteria = alertCriteria(selector);
  yield* mergeMap(repos, (repo) => repositoryAlerts(ctx, repo, criteria), 8);
}

async function* repositoryAlerts(ctx: FetchContext, repo: RepositoryRef, criteria: AlertCriteria): AsyncGenerator<RawItem[]> {
  const url = ctx.client.url(
    `${encodeURIComponent(repo.project.id)}/_apis/alert/repositories/${encodeURIComponent(repo.id)}/alerts`,
    'advsec',
  );
  try {
    const pages = pagesByContinuation<RawItem>(ctx.client, url, {
      query: criteria.query,
      top: Math.min(ctx.pageSize, ALERTS_MAX_PAGE),
      topParam: 'top',
      tokenFrom: 'header',
      idOf: (a) => (a as { alertId?: unknown } | null)?.alertId,
      signal: ctx.signal,
    });
    for await (const page of pages) {
      const out = page.filter((a) => a && typeof a === 'object' && criteria.matches(a)).map((a) => Object.assign(a, { __repositoryId: repo.id, __projectId: repo.project.id }));
      if (out.length > 0) yield out;
    }
  } catch (err) {
    if (err instanceof AdoError && err.status === 400) {
      ctx.log.debug({ repository: repo.name }, 'advanced-security-alert: Advanced Security not enabled; repository skipped');
      return;
    }
    throw err;
  }
}

export const advancedSecurityAlertKind: KindDefinition<AlertSelector> = {
  kind: 'advanced-security-alert',
  description: 'GitHub Advanced Security for Azure DevOps alerts of every healthy repository',
  serverSupported: false,
  docs: {
    endpoints: 'GET advsec {project}/_apis/alert/repositories/{repo}/alerts per healthy repository (continuation header, api-version 7.2-preview.1); 400 = not enabled, skipped',
    enrichment: ['__repositoryId', '__projectId'],
  },
  selectorSchema,
  fetch: fetchAlerts,
  events: {
    subscriptions: ['ms.vss-alerts.alert-created-event', 'ms.vss-alerts.alert-state-changed-event', 'ms.vss-alerts.alert-updated-event'].map(
      (eventType) => ({ publisherId: 'advsec' as const, eventType }),
    ),
    handle: alertEvent,
  },
};

/**
 * Reads the alert back from the advsec host, with the resync's filters: an alert that is gone, outside the selector's
 * `criteria` (a dismissed alert when only active ones are synced), or of a repository whose alerts the resync does not
 * list (disabled, empty, without Advanced Security: 400) is removed, never written.
 */
async function alertEvent(ctx: FetchContext, event: ServiceHookEvent, selector: AlertSelector): Promise<EventOutcome> {
  const r = event.resource;
  const repoId = field<string>(r, 'repositoryId') ?? field<string>(r, 'repository', 'id');
  const alertId = numericId(r.alertId) ?? numericId(field(r, 'alert', 'alertId'));
  const eventProject = eventProjectId(event);
  if (!repoId || alertId === undefined) throw missing(event, 'resource.repositoryId and resource.alertId');
  if (!eventProject) throw missing(event, 'project (resourceContainers.project.id)');
  const repo = await getIfExists<RepositoryRef>(ctx, ctx.client.url(`_apis/git/repositories/${encodeURIComponent(repoId)}`));
  // Stamped as the listing stamps it (the repository's own project once it is known).
  const projectId = repo?.project?.id ?? eventProject;
  const repositoryId = repo?.id ?? repoId;
  const stamp = (a: RawItem): RawItem => ({ ...a, __repositoryId: repositoryId, __projectId: projectId });
  if (!repo || !listsAlerts(repo)) return deletedItems(stamp({ alertId }));
  let alert: Alert | undefined;
  try {
    alert = await getIfExists(ctx, ctx.client.url(`${encodeURIComponent(projectId)}/_apis/alert/repositories/${encodeURIComponent(repositoryId)}/alerts/${alertId}`, 'advsec'), {
      'api-version': ADVSEC_API,
    });
  } catch (err) {
    // Advanced Security not enabled: the listing skips the repository, so none of its alerts is produced.
    if (err instanceof AdoError && err.status === 400) return deletedItems(stamp({ alertId }));
    throw err;
  }
  if (!alert) return deletedItems(stamp({ alertId }));
  return alertCriteria(selector).matches(alert) ? upserted(stamp(alert)) : deletedItems(stamp(alert));
}
