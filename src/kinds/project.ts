import { mergeMap } from '../util/asyncIter.js';
import { API } from './shared/api.js';
import { listProjects, type ProjectRef } from './shared/listings.js';
import { auditField } from './shared/auditLog.js';
import { fromAuditLog } from './shared/auditIncremental.js';
import type { FetchContext, KindDefinition, RawItem, SelectorOf, SelectorSchema } from './types.js';

const selectorSchema = {
  type: 'object',
  properties: {
    defaultTeam: { type: 'boolean', default: false, description: 'Fetch each project in full, adding its defaultTeam' },
  },
} as const satisfies SelectorSchema;

type ProjectSelector = SelectorOf<typeof selectorSchema>;

/** With `defaultTeam`, each project is the full GET-project body, which carries `defaultTeam`. */
async function* fetchProjects(ctx: FetchContext, selector: ProjectSelector): AsyncGenerator<RawItem[]> {
  const projects = await listProjects(ctx);
  for (let i = 0; i < projects.length; i += ctx.pageSize) {
    const page = projects.slice(i, i + ctx.pageSize);
    if (!selector.defaultTeam) {
      yield page;
      continue;
    }
    const full: RawItem[] = [];
    for await (const p of mergeMap(page, (p) => fetchFullProject(ctx, p), 8)) full.push(p);
    yield full;
  }
}

async function* fetchFullProject(ctx: FetchContext, p: ProjectRef): AsyncGenerator<RawItem> {
  const res = await ctx.client.get<RawItem>(
    ctx.client.url(`_apis/projects/${encodeURIComponent(p.id)}`),
    { includeCapabilities: true, 'api-version': API.ga },
    ctx.signal,
  );
  yield res.data;
}

export const projectKind: KindDefinition<ProjectSelector> = {
  kind: 'project',
  description: 'Team projects of the organization',
  serverSupported: true,
  docs: { endpoints: 'GET _apis/projects (continuation); with defaultTeam, GET _apis/projects/{id} each', enrichment: [] },
  selectorSchema,
  fetch: fetchProjects,
  incremental: fromAuditLog(fetchProjects, {
    reads: 'listed whole (one request); a project the audit log shows deleted since the cursor (Project.*DeleteCompleted) and not listed is deleted',
    concerns: (e) => e.actionId.startsWith('Project.') && e.actionId.endsWith('Completed'),
    listAlways: true,
    gone: (e) => {
      const id = /DeleteCompleted$/.test(e.actionId) ? (auditField(e, 'ProjectId') ?? e.projectId ?? undefined) : undefined;
      return id ? { id, name: auditField(e, 'ProjectName', 'PreviousProjectName') ?? e.projectName ?? null } : undefined;
    },
  }),
};
