/**
 * Wikis and Advanced Security alerts. Shapes follow the official REST spec examples
 * (MicrosoftDocs/vsts-rest-api-specs: wiki/5.0 wikis/GET_wikis_queryInProject.json, wiki/7.0 pagesBatch
 * GET_wiki_pageBatch_WithContinuationToken.json, wiki/6.1 pages/GET_wiki_pageById_JSON_withContent.json;
 * advancedSecurity/7.2/alert.json definitions Alert, Dismissal, PhysicalLocation, LogicalLocation, Tool).
 */
import { adoDate, DAY_MS, rngFor } from '../random.js';
import type { OrgData } from './dataset.js';

const STREAM_WIKI = 0x6b11;
const STREAM_ALERT = 0x6b12;

export interface WikiV2 {
  id: string;
  versions: Array<{ version: string }>;
  url: string;
  remoteUrl: string;
  type: 'projectWiki' | 'codeWiki';
  name: string;
  projectId: string;
  repositoryId: string;
  mappedPath: string;
}

export interface WikiPageDetail {
  path: string;
  id: number;
}

export interface WikiPage extends WikiPageDetail {
  order: number;
  gitItemPath: string;
  subPages: unknown[];
  url: string;
  remoteUrl: string;
  content?: string;
}

export interface Alert {
  alertId: number;
  alertType: 'dependency' | 'secret' | 'code';
  severity: string;
  state: string;
  title: string;
  gitRef: string;
  repositoryUrl: string;
  introducedDate: string;
  firstSeenDate: string;
  lastSeenDate: string;
  fixedDate?: string;
  confidence?: 'high' | 'other';
  truncatedSecret?: string;
  dismissal?: { dismissalId: number; dismissalType: string; message: string; stateChangedBy: string };
  tools: Array<{ name: string }>;
  physicalLocations: Array<{ filePath: string; region: { lineStart: number; lineEnd: number } }>;
  logicalLocations: Array<{ fullyQualifiedName: string; kind: string }>;
}

const PAGE_NAMES = ['Home', 'Onboarding', 'Architecture', 'Runbooks', 'Release process', 'FAQ', 'Glossary', 'On-call'] as const;
const SEVERITIES = ['critical', 'high', 'medium', 'low', 'error', 'warning', 'note'] as const;
const STATES = ['active', 'active', 'active', 'dismissed', 'fixed', 'autoDismissed'] as const;
const TYPES = ['dependency', 'code', 'secret'] as const;
const TITLES: Record<(typeof TYPES)[number], readonly string[]> = {
  dependency: ['CVE-2024-21626: runc container breakout', 'CVE-2023-44487: HTTP/2 rapid reset', 'CVE-2022-25883: semver ReDoS'],
  code: ['SQL query built from user-controlled sources', 'Reflected cross-site scripting', 'Use of a broken cryptographic algorithm'],
  secret: ['Azure DevOps personal access token', 'Azure Storage account access key', 'GitHub personal access token'],
};

const cache = new WeakMap<OrgData, WikisAlerts>();

export function wikisAlerts(org: OrgData): WikisAlerts {
  let w = cache.get(org);
  if (!w) {
    w = new WikisAlerts(org);
    cache.set(org, w);
  }
  return w;
}

export class WikisAlerts {
  readonly #org: OrgData;

  constructor(org: OrgData) {
    this.#org = org;
  }

  /** Each project has its project wiki; projects with an even index also publish the first repository's /docs as a code wiki. */
  wikis(projectIndex: number): WikiV2[] {
    const { ctx, projects, repos } = this.#org;
    const project = projects.record(projectIndex);
    const base = `${ctx.orgUrl()}/${project.id}`;
    const projectWikiId = rngFor(ctx.seed, ctx.key, STREAM_WIKI, projectIndex, 0).guid();
    const out: WikiV2[] = [
      {
        id: projectWikiId,
        versions: [{ version: 'wikiMaster' }],
        url: `${base}/_apis/wiki/wikis/${projectWikiId}`,
        remoteUrl: `${base}/_wiki/wikis/${projectWikiId}`,
        type: 'projectWiki',
        name: `${project.name}.wiki`,
        projectId: project.id,
        repositoryId: projectWikiId,
        mappedPath: '/',
      },
    ];
    const firstRepo = repos.record(projectIndex * repos.perProject);
    if (projectIndex % 2 === 0 && repos.perProject > 0 && firstRepo.defaultBranch) {
      const id = rngFor(ctx.seed, ctx.key, STREAM_WIKI, projectIndex, 1).guid();
      out.push({
        id,
        versions: [{ version: firstRepo.defaultBranch.replace(/^refs\/heads\//, '') }],
        url: `${base}/_apis/wiki/wikis/${id}`,
        remoteUrl: `${base}/_wiki/wikis/${id}`,
        type: 'codeWiki',
        name: `${firstRepo.name} docs`,
        projectId: project.id,
        repositoryId: firstRepo.id,
        mappedPath: '/docs',
      });
    }
    return out;
  }

  /** By id or (case-insensitive) name within the project. */
  findWiki(projectIndex: number, idOrName: string): WikiV2 | undefined {
    const lower = idOrName.toLowerCase();
    return this.wikis(projectIndex).find((w) => w.id === lower || w.name.toLowerCase() === lower);
  }

  /** Pages in id order (ids 1..n within a wiki); page k > 1 nests under Home every third time. */
  pages(projectIndex: number, wiki: WikiV2): WikiPage[] {
    const n = (this.#org.ctx.scale.wikiPagesPerWiki ?? 5) + (wiki.type === 'codeWiki' ? 1 : 0);
    const base = wiki.url.replace(/\/_apis\/wiki\/wikis\/.*$/, '');
    const out: WikiPage[] = [];
    for (let id = 1; id <= n; id++) {
      const name = PAGE_NAMES[(id - 1) % PAGE_NAMES.length] as string;
      const suffix = id > PAGE_NAMES.length ? ` ${Math.ceil(id / PAGE_NAMES.length)}` : '';
      const path = id > 1 && id % 3 === 0 ? `/Home/${name}${suffix}` : `/${name}${suffix}`;
      const encoded = encodeURIComponent(path);
      out.push({
        path,
        order: id - 1,
        gitItemPath: `${path.split('/').map((s) => s.replace(/ /g, '-')).join('/')}.md`,
        subPages: [],
        url: `${wiki.url}/pages/${encoded}`,
        remoteUrl: `${base}/_wiki/wikis/${wiki.id}?pagePath=${encoded}`,
        id,
      });
    }
    void projectIndex;
    return out;
  }

  pageContent(wiki: WikiV2, page: WikiPage): string {
    return `# ${page.path.split('/').pop() ?? ''}\n\nPage ${page.id} of ${wiki.name}.\n`;
  }

  /** Advanced Security is off (the list answers 400) on every third repository and on empty ones. */
  advancedSecurityEnabled(repoIndex: number): boolean {
    const rec = this.#org.repos.record(repoIndex);
    return !rec.isEmpty && repoIndex % 3 !== 2;
  }

  /** Alerts of a repository in id order (ids organization-wide: repoIndex * 1000 + n). */
  alerts(repoIndex: number): Alert[] {
    const { ctx, repos, identities } = this.#org;
    const rec = repos.record(repoIndex);
    const repo = repos.repository(repoIndex, false);
    const out: Alert[] = [];
    for (let n = 1; n <= (ctx.scale.alertsPerRepo ?? 6); n++) {
      const alertId = repoIndex * 1000 + n;
      const rng = rngFor(ctx.seed, ctx.key, STREAM_ALERT, alertId);
      const alertType = TYPES[(repoIndex + n) % TYPES.length] as (typeof TYPES)[number];
      const state = STATES[(repoIndex * 7 + n) % STATES.length] as string;
      const severity = alertType === 'code' ? (['error', 'warning', 'note'][n % 3] as string) : (SEVERITIES[n % 4] as string);
      const introduced = ctx.referenceMs - rng.int(20, 200) * DAY_MS;
      const lastSeen = ctx.referenceMs - rng.int(0, 19) * DAY_MS;
      const alert: Alert = {
        alertId,
        alertType,
        severity,
        state,
        title: rng.pick(TITLES[alertType]),
        gitRef: rec.defaultBranch ?? 'refs/heads/main',
        repositoryUrl: repo.webUrl,
        introducedDate: adoDate(introduced, rng),
        firstSeenDate: adoDate(introduced + DAY_MS, rng),
        lastSeenDate: adoDate(lastSeen, rng),
        tools: [{ name: alertType === 'dependency' ? 'DependencyScanning' : alertType === 'code' ? 'CodeQL' : 'SecretScanning' }],
        physicalLocations: [{ filePath: alertType === 'dependency' ? '/package.json' : `/src/module${n}.ts`, region: { lineStart: 10 + n, lineEnd: 12 + n } }],
        logicalLocations: alertType === 'dependency' ? [{ fullyQualifiedName: `pkg:npm/dep-${n}@1.${n}.0`, kind: 'component' }] : [],
      };
      if (state === 'fixed') alert.fixedDate = adoDate(lastSeen, rng);
      if (alertType === 'secret') {
        alert.confidence = 'high';
        alert.truncatedSecret = `${rng.hex(4)}************`;
      }
      if (state === 'dismissed') {
        alert.dismissal = { dismissalId: alertId, dismissalType: 'acceptedRisk', message: 'Not reachable from production code', stateChangedBy: identities.at(n).id };
      }
      out.push(alert);
    }
    return out;
  }
}
