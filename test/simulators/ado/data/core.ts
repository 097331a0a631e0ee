import { DAY_MS, Stream, adoDate, rngFor } from '../random.js';
import type { OrgContext } from './context.js';
import type { ProjectState, TeamProject, TeamProjectReference } from './types.js';
import { PROJECT_DESCRIPTIONS, PROJECT_NAMES } from './words.js';

export interface ProjectRecord {
  index: number;
  id: string;
  name: string;
  description?: string;
  state: ProjectState;
  revision: number;
  visibility: 'private' | 'public';
  lastUpdateTime: string;
  defaultTeamId: string;
}

export const PROJECT_STATES: readonly ProjectState[] = ['wellFormed', 'new', 'deleting', 'createPending', 'unchanged', 'deleted'];

/** Projects of one organization: records are generated on demand and memoised (there are few of them). */
export class ProjectsArea {
  readonly #ctx: OrgContext;
  readonly #records: Array<ProjectRecord | undefined>;
  #lookup: Map<string, number> | undefined;

  constructor(ctx: OrgContext) {
    this.#ctx = ctx;
    this.#records = new Array<ProjectRecord | undefined>(ctx.scale.projects);
  }

  get count(): number {
    return this.#ctx.scale.projects;
  }

  record(index: number): ProjectRecord {
    let rec = this.#records[index];
    if (!rec) {
      rec = this.#build(index);
      this.#records[index] = rec;
    }
    return rec;
  }

  /** Index of the project with this id or (case-insensitive) name. */
  find(idOrName: string): number | undefined {
    if (!this.#lookup) {
      this.#lookup = new Map();
      for (let i = 0; i < this.count; i++) {
        const rec = this.record(i);
        this.#lookup.set(rec.id, i);
        this.#lookup.set(rec.name.toLowerCase(), i);
      }
    }
    return this.#lookup.get(idOrName.toLowerCase());
  }

  reference(index: number): TeamProjectReference {
    const rec = this.record(index);
    // Key order as the service writes it; description is absent when the project has none.
    return {
      id: rec.id,
      name: rec.name,
      ...(rec.description !== undefined ? { description: rec.description } : {}),
      url: `${this.#ctx.orgUrl()}/_apis/projects/${rec.id}`,
      state: rec.state,
      revision: rec.revision,
      visibility: rec.visibility,
      lastUpdateTime: rec.lastUpdateTime,
    };
  }

  teamProject(index: number, includeCapabilities: boolean): TeamProject {
    const rec = this.record(index);
    const base = this.#ctx.orgUrl();
    const project: TeamProject = {
      ...this.reference(index),
      _links: {
        self: { href: `${base}/_apis/projects/${rec.id}` },
        collection: { href: `${base}/_apis/projectCollections/${collectionId(this.#ctx)}` },
        web: { href: `${base}/${encodeURIComponent(rec.name)}` },
      },
      defaultTeam: {
        id: rec.defaultTeamId,
        name: `${rec.name} Team`,
        url: `${base}/_apis/projects/${rec.id}/teams/${rec.defaultTeamId}`,
      },
    };
    if (includeCapabilities) {
      project.capabilities = {
        versioncontrol: { sourceControlType: 'Git', gitEnabled: 'True', tfvcEnabled: 'False' },
        processTemplate: { templateName: 'Agile', templateTypeId: 'adcc42ab-9882-485e-a3ed-7678f01f66bc' },
      };
    }
    return project;
  }

  #build(index: number): ProjectRecord {
    const ctx = this.#ctx;
    const rng = rngFor(ctx.seed, ctx.key, Stream.project, index);
    const id = rng.guid();
    const defaultTeamId = rng.guid();
    const hasDescription = rng.chance(0.8);
    rng.u32(); // reserved (keeps later draws stable)
    const description = PROJECT_DESCRIPTIONS[index % PROJECT_DESCRIPTIONS.length] as string;
    const visibility = rng.chance(0.25) ? 'public' : 'private';
    const revision = rng.int(10, 900);
    const lastUpdateMs = ctx.referenceMs - Math.floor(rng.float() * 365 * DAY_MS);
    const rec: ProjectRecord = {
      index,
      id,
      name: projectName(index),
      state: 'wellFormed',
      revision,
      visibility,
      lastUpdateTime: adoDate(lastUpdateMs, rng),
      defaultTeamId,
    };
    if (hasDescription) rec.description = description;
    return rec;
  }
}

/** Unique within an organization: the base list, then the list again with a numeric suffix. */
export function projectName(index: number): string {
  const base = PROJECT_NAMES[index % PROJECT_NAMES.length] as string;
  const round = Math.floor(index / PROJECT_NAMES.length);
  return round === 0 ? base : `${base} ${round + 1}`;
}

export function collectionId(ctx: OrgContext): string {
  return rngFor(ctx.seed, ctx.key, Stream.projectLayout, 0xffff).guid();
}
