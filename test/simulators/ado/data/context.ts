/** What every data area of one organization needs: the seed, the scale, the clock and where it is served. */
export interface AdoScale {
  projects: number;
  reposPerProject: number;
  pullRequestsPerRepo: number;
  /** Teams per project (team 0 is the project's default team). */
  teamsPerProject: number;
  /** Work items per project (ids are organization-wide, consecutive per project). */
  workItemsPerProject: number;
  /** Graph service principals of the organization. */
  servicePrincipals: number;
  /** Branches per non-empty repository, the default branch included. */
  branchesPerRepo: number;
  /** Pages per wiki (each project has a project wiki; every other project also a code wiki). */
  wikiPagesPerWiki: number;
  /** Advanced Security alerts per repository with Advanced Security enabled. */
  alertsPerRepo: number;
  /** YAML pipelines (build definitions) per project. */
  pipelinesPerProject: number;
  /** Builds (= pipeline runs) per pipeline. */
  buildsPerPipeline: number;
  /** Pipeline environments per project. */
  environmentsPerProject: number;
  /** Classic release definitions per project. */
  releaseDefinitionsPerProject: number;
  /** Releases per release definition. */
  releasesPerDefinition: number;
  /** Test runs per project. */
  testRunsPerProject: number;
}

export const DEFAULT_SCALE: AdoScale = { projects: 3, reposPerProject: 4, pullRequestsPerRepo: 12, branchesPerRepo: 4, wikiPagesPerWiki: 5, alertsPerRepo: 6, teamsPerProject: 2, workItemsPerProject: 30, servicePrincipals: 3, pipelinesPerProject: 2, buildsPerPipeline: 4, environmentsPerProject: 2, releaseDefinitionsPerProject: 2, releasesPerDefinition: 3, testRunsPerProject: 4 };

/** Fixed "now" of the generated data, so runs are reproducible. */
export const DEFAULT_REFERENCE_DATE = '2025-06-02T12:00:00.000Z';

export interface OrgContext {
  /** Canonical organization name (as configured). */
  readonly name: string;
  /** Hash of the lower-cased name: the organization's key space. */
  readonly key: number;
  readonly seed: number;
  readonly scale: Readonly<AdoScale>;
  readonly referenceMs: number;
  /** `${simulator url}/${org}`; read at generation time because the port is known only after listen. */
  orgUrl(): string;
  /** Host name of the simulator (for ssh URLs). */
  hostname(): string;
}
