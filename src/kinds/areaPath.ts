import { mergeMap } from '../util/asyncIter.js';
import { API } from './shared/api.js';
import { listProjects, type ProjectRef } from './shared/listings.js';
import { unlessGone } from './shared/teams.js';
import type { FetchContext, KindDefinition, RawItem, SelectorOf, SelectorSchema } from './types.js';

const selectorSchema = {
  type: 'object',
  properties: {
    depth: { type: 'integer', minimum: 0, description: 'Levels of children below the root ($depth); without it only the root node is returned' },
  },
} as const satisfies SelectorSchema;

type AreaPathSelector = SelectorOf<typeof selectorSchema>;

interface AreaNode extends RawItem {
  identifier?: string;
  path?: string;
  structureType?: string;
  children?: AreaNode[];
}

/** The Areas classification tree of each project, flattened: one item per node, without `children`. */
async function* fetchAreaPaths(ctx: FetchContext, selector: AreaPathSelector): AsyncGenerator<RawItem[]> {
  const projects = await listProjects(ctx);
  yield* mergeMap(projects, (p) => areasOf(ctx, p, selector.depth), 5);
}

async function* areasOf(ctx: FetchContext, project: ProjectRef, depth: number | undefined): AsyncGenerator<RawItem[]> {
  const url = ctx.client.url(`${encodeURIComponent(project.id)}/_apis/wit/classificationnodes/Areas`);
  const root = await unlessGone(
    ctx,
    `area paths of project "${project.name}"`,
    async () => (await ctx.client.get<AreaNode>(url, { $depth: depth, 'api-version': API.ga }, ctx.signal)).data,
    undefined,
  );
  if (!root || typeof root !== 'object') return;
  const out: RawItem[] = [];
  const walk = (node: AreaNode, parent: string | null) => {
    const { children, ...rest } = node;
    if (String(node.structureType ?? 'area').toLowerCase() === 'area') {
      out.push({ ...rest, __project: project, __parentIdentifier: parent, __normalizedPath: normalizePath(node.path) });
    }
    // Not a listing: leaves, and nodes at the `$depth` limit, come without `children`.
    for (const c of Array.isArray(children) ? children : []) if (c && typeof c === 'object') walk(c, node.identifier ?? null);
  };
  walk(root, null);
  if (out.length > 0) yield out;
}

/** `\Project\Area\A\B` → `Project\A\B` (the form work items carry in System.AreaPath). */
export function normalizePath(path: unknown): string | undefined {
  if (typeof path !== 'string') return undefined;
  const parts = path.split('\\').filter(Boolean);
  if (parts[1]?.toLowerCase() === 'area') parts.splice(1, 1);
  return parts.join('\\');
}

export const areaPathKind: KindDefinition<AreaPathSelector> = {
  kind: 'area-path',
  description: 'Area paths of every project (the Areas classification tree, flattened)',
  serverSupported: true,
  docs: { endpoints: 'GET {project}/_apis/wit/classificationnodes/Areas?$depth= per project', enrichment: ['__project', '__parentIdentifier', '__normalizedPath'] },
  selectorSchema,
  fetch: fetchAreaPaths,
};
