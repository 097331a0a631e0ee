import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OrgData } from '../data/dataset.js';
import { wikisAlerts } from '../data/wikisAlerts.js';
import { AdoHttpError, errors } from '../http/errors.js';
import { orgOf, queryOf, sendJson } from '../http/pipeline.js';
import type { RouteContext } from './context.js';
import { projectIndex, type Params } from './lookup.js';

/** pagesBatch accepts `top` up to 100. */
const PAGES_MAX_TOP = 100;


/** Wikis (list, pagesBatch with a header token, one page) and Advanced Security alerts (advsec host). */
export function registerWikiAlertRoutes(app: FastifyInstance, rc: RouteContext): void {
  app.get('/:org/:project/_apis/wiki/wikis', async (req: FastifyRequest, reply: FastifyReply) => {
    const org = orgOf(req);
    const value = wikisAlerts(org).wikis(projectIndex(org, (req.params as Params).project ?? ''));
    return sendJson(reply, 200, { value, count: value.length });
  });

  // POST body {top, continuationToken}; the next token (the last page id served) comes back in x-ms-continuationtoken.
  app.post('/:org/:project/_apis/wiki/wikis/:wiki/pagesbatch', async (req: FastifyRequest, reply: FastifyReply) => {
    const org = orgOf(req);
    const p = req.params as Params;
    const pi = projectIndex(org, p.project ?? '');
    const wiki = wikisAlerts(org).findWiki(pi, p.wiki ?? '');
    if (!wiki) throw wikiNotFound(p.wiki ?? '');
    const body = (req.body ?? {}) as { top?: unknown; continuationToken?: unknown };
    const top = Number(body.top ?? PAGES_MAX_TOP);
    if (!Number.isInteger(top) || top < 1 || top > PAGES_MAX_TOP) throw errors.badRequest(`The value of top must be between 1 and ${PAGES_MAX_TOP}.`);
    const after = body.continuationToken === undefined || body.continuationToken === null || body.continuationToken === '' ? 0 : Number(body.continuationToken);
    if (!Number.isInteger(after) || after < 0) throw errors.badRequest(`The continuation token '${String(body.continuationToken)}' is not valid.`);
    const all = wikisAlerts(org).pages(pi, wiki).filter((pg) => pg.id > after);
    const page = all.slice(0, Math.min(top, rc.pageLimit('wikiPages')));
    if (page.length < all.length) reply.header('x-ms-continuationtoken', String(page[page.length - 1]!.id));
    return sendJson(reply, 200, { count: page.length, value: page.map(({ path, id }) => ({ path, id })) });
  });

  app.get('/:org/:project/_apis/wiki/wikis/:wiki/pages/:id', async (req: FastifyRequest, reply: FastifyReply) => {
    const org = orgOf(req);
    const p = req.params as Params;
    const pi = projectIndex(org, p.project ?? '');
    const wiki = wikisAlerts(org).findWiki(pi, p.wiki ?? '');
    if (!wiki) throw wikiNotFound(p.wiki ?? '');
    const page = wikisAlerts(org).pages(pi, wiki).find((pg) => String(pg.id) === p.id);
    if (!page) throw new AdoHttpError(404, `The page with id '${p.id}' does not exist.`, 'WikiPageNotFoundException');
    const withContent = queryOf(req).bool('includeContent');
    return sendJson(reply, 200, withContent ? { ...page, content: wikisAlerts(org).pageContent(wiki, page) } : page);
  });

  // Advanced Security alerts: `top` (no $) and an opaque token in x-ms-continuationtoken; 400 when not enabled.
  app.get('/:org/:project/_apis/alert/repositories/:repo/alerts', async (req: FastifyRequest, reply: FastifyReply) => {
    const org = orgOf(req);
    const p = req.params as Params;
    const q = queryOf(req);
    const r = repoIndex(org, p);
    if (!wikisAlerts(org).advancedSecurityEnabled(r)) {
      throw new AdoHttpError(400, 'Advanced Security is not enabled for this repository.', 'AdvancedSecurityNotEnabledException');
    }
    const list = (name: string) => q.get(name)?.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
    const states = list('criteria.states');
    const severities = list('criteria.severities') ?? list('criteria.severity');
    const alertType = q.get('criteria.alertType')?.toLowerCase();
    const alerts = wikisAlerts(org)
      .alerts(r)
      .filter((a) => (!states || states.includes(a.state.toLowerCase())) && (!severities || severities.includes(a.severity)) && (!alertType || a.alertType === alertType));
    const top = Math.min(q.int('top') ?? Number.MAX_SAFE_INTEGER, rc.pageLimit('alerts'));
    const token = q.get('continuationToken');
    const start = token ? Number(Buffer.from(token, 'base64url').toString().replace(/^alerts:/, '')) : 0;
    if (!Number.isInteger(start) || start < 0) throw errors.badRequest(`The continuation token '${token}' is not valid.`);
    const page = alerts.slice(start, start + top);
    if (start + page.length < alerts.length) reply.header('x-ms-continuationtoken', Buffer.from(`alerts:${start + page.length}`).toString('base64url'));
    return sendJson(reply, 200, { count: page.length, value: page });
  });
  app.get('/:org/:project/_apis/alert/repositories/:repo/alerts/:alertId', async (req: FastifyRequest, reply: FastifyReply) => {
    const org = orgOf(req);
    const p = req.params as Params & { alertId?: string };
    const r = repoIndex(org, p);
    if (!wikisAlerts(org).advancedSecurityEnabled(r)) {
      throw new AdoHttpError(400, 'Advanced Security is not enabled for this repository.', 'AdvancedSecurityNotEnabledException');
    }
    const alert = wikisAlerts(org).alerts(r).find((a) => a.alertId === Number(p.alertId));
    if (!alert) throw new AdoHttpError(404, `Alert ${p.alertId} was not found.`, 'AlertNotFoundException');
    return sendJson(reply, 200, alert);
  });
}

function wikiNotFound(idOrName: string): AdoHttpError {
  return new AdoHttpError(404, `The wiki '${idOrName}' does not exist or you do not have permission to view it.`, 'WikiNotFoundException');
}


function repoIndex(org: OrgData, p: Params): number {
  const repo = p.repo ?? '';
  const i = org.repos.findInProject(projectIndex(org, p.project ?? ''), repo);
  if (i === undefined) throw errors.repository(repo);
  return i;
}
