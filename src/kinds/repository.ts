import { AdoNotFoundError } from '../ado/errors.js';
import { mergeMap } from '../util/asyncIter.js';
import { API } from './shared/api.js';
import { listRepositories, type RepositoryRef } from './shared/listings.js';
import { deletedItems, field, getIfExists, missing, upserted } from './shared/events.js';
import { auditField } from './shared/auditLog.js';
import { fromAuditLog } from './shared/auditIncremental.js';
import type { FetchContext, KindDefinition, RawItem, SelectorOf, SelectorSchema } from './types.js';

const selectorSchema = {
  type: 'object',
  properties: {
    includedFiles: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      description: 'Repository-relative paths read on the default branch into __includedFiles',
    },
  },
} as const satisfies SelectorSchema;

type RepositorySelector = SelectorOf<typeof selectorSchema>;

async function* fetchRepositories(ctx: FetchContext, selector: RepositorySelector): AsyncGenerator<RawItem[]> {
  const repos = await listRepositories(ctx);
  const files = selector.includedFiles ?? [];
  for (let i = 0; i < repos.length; i += ctx.pageSize) {
    const page = repos.slice(i, i + ctx.pageSize);
    if (files.length === 0) {
      yield page;
      continue;
    }
    const enriched: RawItem[] = [];
    for await (const repo of mergeMap(page, (r) => withIncludedFiles(ctx, r, files), 8)) enriched.push(repo);
    yield enriched;
  }
}

async function* withIncludedFiles(ctx: FetchContext, repo: RepositoryRef, paths: string[]): AsyncGenerator<RawItem> {
  const included: Record<string, string | null> = {};
  const branch = repo.defaultBranch?.replace(/^refs\/heads\//, '');
  for (const path of paths) included[path] = branch ? await readFile(ctx, repo, path, branch) : null;
  yield { ...repo, __includedFiles: included };
}

/** File content on a branch; a missing file is null (an expected state), any other failure is an error. */
export async function readFile(ctx: FetchContext, repo: RepositoryRef, path: string, branch: string): Promise<string | null> {
  const url = ctx.client.url(`${encodeURIComponent(repo.project.id)}/_apis/git/repositories/${encodeURIComponent(repo.id)}/items`);
  try {
    const res = await ctx.client.get<{ content?: string }>(
      url,
      {
        path: path.startsWith('/') ? path : `/${path}`,
        versionType: 'Branch',
        version: branch,
        includeContent: true,
        'api-version': API.ga,
      },
      ctx.signal,
    );
    return res.data?.content ?? '';
  } catch (err) {
    if (err instanceof AdoNotFoundError) return null;
    throw err;
  }
}

export const repositoryKind: KindDefinition<RepositorySelector> = {
  kind: 'repository',
  description: 'Git repositories (disabled ones included), optionally with file contents',
  serverSupported: true,
  docs: { endpoints: 'GET _apis/git/repositories (one org-level call); includedFiles: GET .../items?path= per file', enrichment: ['__includedFiles'] },
  selectorSchema,
  fetch: fetchRepositories,
  incremental: fromAuditLog(fetchRepositories, {
    reads: 'listed whole (one request, plus includedFiles per repository); a repository the audit log shows deleted since the cursor (Git.RepositoryDeleted/Destroyed) and not listed is deleted',
    concerns: (e) => e.actionId.startsWith('Git.Repository'),
    listAlways: true,
    gone: (e) => {
      const id = /^Git\.Repository(Deleted|Destroyed)$/.test(e.actionId) ? auditField(e, 'RepoId', 'RepositoryId') : undefined;
      const projectId = auditField(e, 'ProjectId') ?? e.projectId ?? undefined;
      return id ? { id, name: auditField(e, 'RepoName') ?? null, project: { id: projectId ?? null, name: e.projectName ?? null } } : undefined;
    },
  }),
  events: {
    subscriptions: ['git.repo.created', 'git.repo.renamed', 'git.repo.deleted'].map((eventType) => ({ publisherId: 'tfs' as const, eventType })),
    async handle(ctx, event, selector) {
      const named = (field<RawItem>(event.resource, 'repository') ?? event.resource) as RawItem;
      const id = typeof named.id === 'string' ? named.id : undefined;
      if (!id) throw missing(event, 'resource.repository.id');
      const repo = event.eventType === 'git.repo.deleted' ? undefined : await getIfExists<RepositoryRef>(ctx, ctx.client.url(`_apis/git/repositories/${encodeURIComponent(id)}`));
      if (!repo) return deletedItems({ ...named });
      const files = selector.includedFiles ?? [];
      if (files.length === 0) return upserted(repo);
      const out: RawItem[] = [];
      for await (const r of withIncludedFiles(ctx, repo, files)) out.push(r);
      return upserted(...out);
    },
  },
};
