/**
 * Teams, team members, work items, boards, team iterations and area paths of one organization.
 * Shapes follow shared/ado-api-samples/{core,wit,work}/. Generated on demand from (seed, org, project, index).
 */
import { DAY_MS, adoDate, rngFor } from '../random.js';
import type { OrgContext } from './context.js';
import type { OrgData } from './dataset.js';
import type { IdentityRef } from './types.js';
import { PR_OBJECTS, PR_VERBS } from './words.js';

/** Key spaces of this area (distinct from the shared `Stream` values). */
const S = { team: 0x574b0001, workItem: 0x574b0002, board: 0x574b0003, iteration: 0x574b0004, area: 0x574b0005 } as const;

export interface WebApiTeam {
  id: string;
  name: string;
  url: string;
  description: string;
  identityUrl: string;
  projectName: string;
  projectId: string;
}

export interface TeamMember {
  isTeamAdmin: boolean;
  identity: IdentityRef;
}

export interface WorkItemRecord {
  id: number;
  projectIndex: number;
  rev: number;
  fields: Record<string, unknown>;
  parentId?: number;
}

/** Work item types of the Agile process, with their states in workflow order and their board. */
const TYPES = [
  { name: 'User Story', states: ['New', 'Active', 'Resolved', 'Closed'], board: 'Stories' },
  { name: 'Bug', states: ['New', 'Active', 'Resolved', 'Closed'], board: 'Stories' },
  { name: 'Task', states: ['New', 'Active', 'Closed'], board: undefined },
  { name: 'Feature', states: ['New', 'Active', 'Resolved', 'Closed'], board: 'Features' },
  { name: 'Epic', states: ['New', 'Active', 'Resolved', 'Closed'], board: 'Epics' },
] as const;

export const BOARD_NAMES = ['Epics', 'Features', 'Stories'] as const;
const BOARD_TYPES: Record<string, string[]> = { Epics: ['Epic'], Features: ['Feature'], Stories: ['User Story', 'Bug'] };
const COLUMNS = [
  { name: 'New', state: 'New', columnType: 'incoming', itemLimit: 0 },
  { name: 'Active', state: 'Active', columnType: 'inProgress', itemLimit: 5 },
  { name: 'Resolved', state: 'Resolved', columnType: 'inProgress', itemLimit: 5 },
  { name: 'Closed', state: 'Closed', columnType: 'outgoing', itemLimit: 0 },
] as const;
const AREA_TREE: Array<[string, string[]]> = [
  ['Web', ['Frontend', 'Backend']],
  ['Mobile', ['iOS']],
  ['Operations', []],
];
export const SPRINTS = 3;

const cache = new WeakMap<OrgData, WorkArea>();

/** The work area of an organization, created on first use. */
export function workOf(org: OrgData): WorkArea {
  let area = cache.get(org);
  if (!area) {
    area = new WorkArea(org);
    cache.set(org, area);
  }
  return area;
}

export class WorkArea {
  readonly #org: OrgData;
  readonly #ctx: OrgContext;
  readonly #teams = new Map<string, WebApiTeam>();
  readonly #items = new Map<number, WorkItemRecord>();
  /** Work items changed through `edited` (sim.changes): kept apart, so the cache's clearing never undoes an edit. */
  readonly #edited = new Map<number, WorkItemRecord>();

  constructor(org: OrgData) {
    this.#org = org;
    this.#ctx = org.ctx;
  }

  get teamsPerProject(): number {
    return this.#ctx.scale.teamsPerProject;
  }

  get workItemsPerProject(): number {
    return this.#ctx.scale.workItemsPerProject;
  }

  // ---- teams ----

  team(p: number, t: number): WebApiTeam {
    const key = `${p}:${t}`;
    let team = this.#teams.get(key);
    if (!team) {
      const proj = this.#org.projects.record(p);
      const rng = rngFor(this.#ctx.seed, this.#ctx.key, S.team, p, t);
      const id = t === 0 ? proj.defaultTeamId : rng.guid();
      const base = this.#ctx.orgUrl();
      team = {
        id,
        name: t === 0 ? `${proj.name} Team` : `${proj.name} ${['Core', 'Quality', 'Ops', 'Design', 'Data'][(t - 1) % 5]}${t > 5 ? ` ${t}` : ''}`,
        url: `${base}/_apis/projects/${proj.id}/teams/${id}`,
        description: t === 0 ? 'The default project team.' : `Team ${t} of ${proj.name}`,
        identityUrl: `${base}/_apis/Identities/${id}`,
        projectName: proj.name,
        projectId: proj.id,
      };
      this.#teams.set(key, team);
    }
    return team;
  }

  /** Every team of the organization, project by project. */
  *allTeams(): Generator<WebApiTeam> {
    for (let p = 0; p < this.#org.projects.count; p++) for (let t = 0; t < this.teamsPerProject; t++) yield this.team(p, t);
  }

  /** [project, team] indexes of a team by id or (case-insensitive) name within a project. */
  findTeam(p: number, idOrName: string): number | undefined {
    const lower = idOrName.toLowerCase();
    for (let t = 0; t < this.teamsPerProject; t++) {
      const team = this.team(p, t);
      if (team.id === lower || team.name.toLowerCase() === lower) return t;
    }
    return undefined;
  }

  members(p: number, t: number): TeamMember[] {
    const rng = rngFor(this.#ctx.seed, this.#ctx.key, S.team, p, t, 1);
    const n = rng.int(2, 6);
    const start = rng.int(0, 23);
    return Array.from({ length: n }, (_, i) => ({ isTeamAdmin: i === 0, identity: this.#org.identities.at(start + i * 5) }));
  }

  /** Team field values (the team's area paths). */
  teamFieldValues(p: number, t: number): Record<string, unknown> {
    const proj = this.#org.projects.record(p);
    const area = AREA_TREE[t % AREA_TREE.length]?.[0] ?? 'Web';
    const base = this.#ctx.orgUrl();
    const team = this.team(p, t);
    return {
      field: { referenceName: 'System.AreaPath', url: `${base}/_apis/wit/fields/System.AreaPath` },
      defaultValue: t === 0 ? proj.name : `${proj.name}\\${area}`,
      values: t === 0 ? [{ value: proj.name, includeChildren: true }] : [{ value: `${proj.name}\\${area}`, includeChildren: true }],
      url: `${base}/${proj.id}/${team.id}/_apis/work/teamsettings/teamfieldvalues`,
      _links: { self: { href: `${base}/${proj.id}/${team.id}/_apis/work/teamsettings/teamfieldvalues` } },
    };
  }

  /** A team without iterations answers 500 on its boards (the last team of every even project, when there are several). */
  hasIterations(p: number, t: number): boolean {
    return !(this.teamsPerProject > 1 && t === this.teamsPerProject - 1 && p % 2 === 0);
  }

  // ---- iterations ----

  iterationId(p: number, s: number): string {
    return rngFor(this.#ctx.seed, this.#ctx.key, S.iteration, p, s).guid();
  }

  iterations(p: number, t: number): Array<Record<string, unknown>> {
    if (!this.hasIterations(p, t)) return [];
    const proj = this.#org.projects.record(p);
    const team = this.team(p, t);
    const base = this.#ctx.orgUrl();
    const out = [];
    for (let s = 0; s < SPRINTS; s++) {
      const id = this.iterationId(p, s);
      const start = this.#ctx.referenceMs + (s - 1) * 14 * DAY_MS - 3 * DAY_MS;
      const url = `${base}/${proj.id}/${team.id}/_apis/work/teamsettings/iterations/${id}`;
      out.push({
        id,
        name: `Sprint ${s + 1}`,
        path: `${proj.name}\\Sprint ${s + 1}`,
        attributes: {
          startDate: new Date(Math.floor(start / DAY_MS) * DAY_MS).toISOString().replace('.000Z', 'Z'),
          finishDate: new Date(Math.floor((start + 13 * DAY_MS) / DAY_MS) * DAY_MS).toISOString().replace('.000Z', 'Z'),
          timeFrame: s === 0 ? 'past' : s === 1 ? 'current' : 'future',
        },
        url,
      });
    }
    return out;
  }

  // ---- boards ----

  boardId(p: number, t: number, b: number): string {
    return rngFor(this.#ctx.seed, this.#ctx.key, S.board, p, t, b).guid();
  }

  boardReferences(p: number, t: number): Array<{ id: string; url: string; name: string }> {
    return BOARD_NAMES.map((name, b) => ({ id: this.boardId(p, t, b), url: this.#boardUrl(p, t, b), name }));
  }

  findBoard(p: number, t: number, idOrName: string): number | undefined {
    const lower = idOrName.toLowerCase();
    const i = BOARD_NAMES.findIndex((name, b) => name.toLowerCase() === lower || this.boardId(p, t, b) === lower);
    return i < 0 ? undefined : i;
  }

  board(p: number, t: number, b: number): Record<string, unknown> {
    const name = BOARD_NAMES[b] as string;
    const types = BOARD_TYPES[name] ?? [];
    const proj = this.#org.projects.record(p);
    const team = this.team(p, t);
    const base = this.#ctx.orgUrl();
    const self = this.#boardUrl(p, t, b);
    const marker = `WEF_${this.boardId(p, t, b).replace(/-/g, '').toUpperCase()}`;
    const columns = COLUMNS.map((c, i) => ({
      id: rngFor(this.#ctx.seed, this.#ctx.key, S.board, p, t, b, i + 1).guid(),
      name: c.name,
      itemLimit: c.itemLimit,
      stateMappings: Object.fromEntries(types.map((ty) => [ty, c.state])),
      ...(c.columnType === 'inProgress' ? { isSplit: false, description: '' } : {}),
      columnType: c.columnType,
    }));
    return {
      id: this.boardId(p, t, b),
      url: self,
      name,
      revision: 0,
      columns,
      rows: [{ id: '00000000-0000-0000-0000-000000000000', name: null }],
      isValid: true,
      allowedMappings: {
        Incoming: Object.fromEntries(types.map((ty) => [ty, ['New']])),
        InProgress: Object.fromEntries(types.map((ty) => [ty, ['Active', 'Resolved', 'New']])),
        Outgoing: Object.fromEntries(types.map((ty) => [ty, ['Closed']])),
      },
      canEdit: true,
      fields: {
        columnField: { referenceName: `${marker}_Kanban.Column`, url: `${base}/_apis/wit/fields/${marker}_Kanban.Column` },
        rowField: { referenceName: `${marker}_Kanban.Lane`, url: `${base}/_apis/wit/fields/${marker}_Kanban.Lane` },
        doneField: { referenceName: `${marker}_Kanban.Column.Done`, url: `${base}/_apis/wit/fields/${marker}_Kanban.Column.Done` },
      },
      _links: {
        self: { href: self },
        project: { href: `${base}/_apis/projects/${proj.id}` },
        team: { href: `${base}/_apis/projects/${proj.id}/teams/${team.id}` },
        charts: { href: `${self}/charts` },
        columns: { href: `${self}/columns` },
        rows: { href: `${self}/rows` },
      },
    };
  }

  #boardUrl(p: number, t: number, b: number): string {
    return `${this.#ctx.orgUrl()}/${this.#org.projects.record(p).id}/${this.team(p, t).id}/_apis/work/boards/${this.boardId(p, t, b)}`;
  }

  // ---- area paths (classification nodes) ----

  /** The Areas tree of a project, `depth` levels of children below the root (0 = root only). */
  areaNode(p: number, depth: number): Record<string, unknown> {
    const proj = this.#org.projects.record(p);
    const base = this.#ctx.orgUrl();
    let seq = 0;
    const node = (name: string, pathParts: string[], children: Array<[string, string[]]>, level: number): Record<string, unknown> => {
      const n = seq++;
      const rng = rngFor(this.#ctx.seed, this.#ctx.key, S.area, p, n);
      const identifier = rng.guid();
      const rel = pathParts.slice(1).join('/');
      const out: Record<string, unknown> = {
        id: 1000 + p * 100 + n,
        identifier,
        name,
        structureType: 'area',
        hasChildren: children.length > 0,
        path: `\\${[proj.name, 'Area', ...pathParts.slice(1)].join('\\')}`,
        _links: { self: { href: `${base}/${proj.id}/_apis/wit/classificationNodes/Areas${rel ? `/${encodeURI(rel)}` : ''}` } },
        url: `${base}/${proj.id}/_apis/wit/classificationNodes/Areas${rel ? `/${encodeURI(rel)}` : ''}`,
      };
      if (children.length > 0 && level < depth) {
        out.children = children.map(([c, grand]) => node(c, [...pathParts, c], grand.map((g) => [g, []]), level + 1));
      }
      return out;
    };
    return node(proj.name, [proj.name], AREA_TREE, 0);
  }

  /** Number of area nodes of a project (root included). */
  areaCount(): number {
    return 1 + AREA_TREE.reduce((n, [, kids]) => n + 1 + kids.length, 0);
  }

  // ---- work items ----

  get workItemCount(): number {
    return this.#org.projects.count * this.workItemsPerProject;
  }

  /** Ids of a project's work items: consecutive, starting at 1 for project 0. */
  projectOfWorkItem(id: number): number | undefined {
    if (!Number.isInteger(id) || id < 1 || id > this.workItemCount) return undefined;
    return Math.floor((id - 1) / this.workItemsPerProject);
  }

  /** Ids of the work items changed through `edited` (the only ones changed after the dataset's reference time). */
  editedIds(): number[] {
    return [...this.#edited.keys()].sort((a, b) => a - b);
  }

  /** The record of a work item about to be changed: it stays as changed however many other items are read. */
  edited(id: number): WorkItemRecord {
    const rec = this.workItemRecord(id);
    this.#edited.set(id, rec);
    return rec;
  }

  workItemRecord(id: number): WorkItemRecord {
    let rec = this.#edited.get(id) ?? this.#items.get(id);
    if (rec) return rec;
    const p = this.projectOfWorkItem(id) as number;
    const ctx = this.#ctx;
    const proj = this.#org.projects.record(p);
    const rng = rngFor(ctx.seed, ctx.key, S.workItem, id);
    const type = TYPES[rng.int(0, TYPES.length - 1)] as (typeof TYPES)[number];
    const state = type.states[rng.int(0, type.states.length - 1)] as string;
    const createdMs = ctx.referenceMs - rng.int(1, 180) * DAY_MS + rng.int(0, DAY_MS - 1);
    const changedMs = Math.min(ctx.referenceMs - 1000, createdMs + rng.int(0, 60) * DAY_MS);
    const creator = this.#org.identities.at(rng.int(0, 23));
    const changer = this.#org.identities.at(rng.int(0, 23));
    const assignee = rng.chance(0.7) ? this.#org.identities.at(rng.int(0, 23)) : undefined;
    const areaIndex = rng.int(0, AREA_TREE.length);
    const area = areaIndex === AREA_TREE.length ? proj.name : `${proj.name}\\${AREA_TREE[areaIndex]?.[0] ?? 'Web'}`;
    const sprint = rng.int(0, SPRINTS);
    const iteration = sprint === SPRINTS ? proj.name : `${proj.name}\\Sprint ${sprint + 1}`;
    const rev = rng.int(1, 12);
    const title = `${rng.pick(PR_VERBS)} ${rng.pick(PR_OBJECTS)}`;
    const firstId = p * this.workItemsPerProject + 1;
    const parentId = id > firstId && rng.chance(0.4) ? rng.int(firstId, id - 1) : undefined;
    const identity = (u: IdentityRef) => ({ ...u, url: u.url });
    const fields: Record<string, unknown> = {
      'System.Id': id,
      'System.AreaId': 1000 + p * 100 + areaIndex,
      'System.AreaPath': area,
      'System.TeamProject': proj.name,
      'System.IterationPath': iteration,
      'System.WorkItemType': type.name,
      'System.State': state,
      'System.Reason': state === 'New' ? `New ${type.name.toLowerCase()}` : `Moved to state ${state}`,
      ...(assignee ? { 'System.AssignedTo': identity(assignee) } : {}),
      'System.CreatedDate': adoDate(createdMs),
      'System.CreatedBy': identity(creator),
      'System.ChangedDate': adoDate(changedMs),
      'System.ChangedBy': identity(changer),
      'System.CommentCount': rng.int(0, 6),
      'System.Title': title,
      ...(type.board ? { 'System.BoardColumn': state, 'System.BoardColumnDone': false } : {}),
      'Microsoft.VSTS.Common.Priority': rng.int(1, 4),
      ...(type.name === 'User Story' || type.name === 'Feature' ? { 'Microsoft.VSTS.Scheduling.StoryPoints': rng.pick([1, 2, 3, 5, 8, 13]) } : {}),
      ...(rng.chance(0.5) ? { 'System.Description': `<div>${title}.</div>` } : {}),
      ...(rng.chance(0.3) ? { 'System.Tags': rng.pick(['backend', 'frontend; ux', 'tech-debt', 'customer']) } : {}),
    };
    rec = { id, projectIndex: p, rev, fields, ...(parentId !== undefined ? { parentId } : {}) };
    if (this.#items.size > 50_000) this.#items.clear();
    this.#items.set(id, rec);
    return rec;
  }

  /** Work item in the shape of GET wit/workitems?ids=&$expand= (expand: none|fields|relations|links|all). */
  workItem(id: number, expand: string): Record<string, unknown> {
    const rec = this.workItemRecord(id);
    const base = this.#ctx.orgUrl();
    const proj = this.#org.projects.record(rec.projectIndex);
    const url = `${base}/${proj.id}/_apis/wit/workItems/${id}`;
    const item: Record<string, unknown> = { id, rev: rec.rev, fields: { ...rec.fields, 'System.Rev': rec.rev } };
    if (expand === 'relations' || expand === 'all') {
      item.relations =
        rec.parentId !== undefined
          ? [{ rel: 'System.LinkTypes.Hierarchy-Reverse', url: `${base}/${proj.id}/_apis/wit/workItems/${rec.parentId}`, attributes: { isLocked: false, name: 'Parent' } }]
          : [];
    }
    if (expand === 'links' || expand === 'all') {
      item._links = {
        self: { href: url },
        workItemUpdates: { href: `${url}/updates` },
        workItemRevisions: { href: `${url}/revisions` },
        workItemComments: { href: `${url}/comments` },
        html: { href: `${base}/${encodeURIComponent(proj.name)}/_workitems/edit/${id}` },
        workItemType: { href: `${base}/${proj.id}/_apis/wit/workItemTypes/${encodeURIComponent(String(rec.fields['System.WorkItemType']))}` },
        fields: { href: `${base}/${proj.id}/_apis/wit/fields` },
      };
    }
    item.url = url;
    return item;
  }
}
