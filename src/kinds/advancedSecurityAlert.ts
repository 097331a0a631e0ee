import { AdoError } from '../ado/errors.js';
import { pagesByContinuation } from '../ado/paging.js';
import { mergeMap } from '../util/asyncIter.js';
import { isHealthyRepository, listRepositories, type RepositoryRef } from './shared/listings.js';
import type { FetchContext, KindDefinition, RawItem, Selector } from './types.js';

/** The alerts API is preview-only. */
const ADVSEC_API = '7.2-preview.1';
const ALERTS_MAX_PAGE = 1000;

interface AlertSelector extends Selector {
  criteria?: { states?: string[]; severity?: string[]; alertType?: string };
}

/**
 * Advanced Security alerts of every healthy repository (advsec host, one listing per repository: there is no
 * project-level alert list), filtered server-side by `criteria`. A 400 means Advanced Security is not enabled on the
 * repository: it is skipped, as Ocean does. Items get `__repositoryId` and `__projectId`.
 */
async function* fetchAlerts(ctx: FetchContext, selector: AlertSelector): AsyncGenerator<RawItem[]> {
  const repos = (await listRepositories(ctx)).filter((r) => isHealthyRepository(r) && r.defaultBranch !== undefined);
  const c = selector.criteria ?? {};
  const query = {
    'api-version': ADVSEC_API,
    'criteria.states': c.states?.length ? c.states.join(',') : undefined,
    'criteria.severities': c.severity?.length ? c.severity.join(',') : undefined,
    'criteria.alertType': c.alertType,
  };
  yield* mergeMap(repos, (repo) => repositoryAlerts(ctx, repo, query), 8);
}

async function* repositoryAlerts(ctx: FetchContext, repo: RepositoryRef, query: Record<string, string | undefined>): AsyncGenerator<RawItem[]> {
  const url = ctx.client.url(
    `${encodeURIComponent(repo.project.id)}/_apis/alert/repositories/${encodeURIComponent(repo.id)}/alerts`,
    'advsec',
  );
  try {
    const pages = pagesByContinuation<RawItem>(ctx.client, url, {
      query,
      top: Math.min(ctx.pageSize, ALERTS_MAX_PAGE),
      topParam: 'top',
      tokenFrom: 'header',
      signal: ctx.signal,
    });
    for await (const page of pages) {
      const out = page.filter((a) => a && typeof a === 'object').map((a) => ({ ...a, __repositoryId: repo.id, __projectId: repo.project.id }));
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
  selectorSchema: {
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
  },
  fetch: fetchAlerts,
};
