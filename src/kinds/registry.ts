import type { Organization } from '../ado/orgUrl.js';
import { branchKind } from './branch.js';
import { fileKind } from './file.js';
import { folderKind } from './folder.js';
import { gitopsKind } from './gitops.js';
import { wikiKind } from './wiki.js';
import { advancedSecurityAlertKind } from './advancedSecurityAlert.js';
import { projectKind } from './project.js';
import { pullRequestKind } from './pullRequest.js';
import { repositoryKind } from './repository.js';
import { repositoryPolicyKind } from './repositoryPolicy.js';
import { workItemKind } from './workItem.js';
import { teamKind } from './team.js';
import { memberKind } from './member.js';
import { pipelineKind } from './pipeline.js';
import { buildKind } from './build.js';
import { pipelineRunKind } from './pipelineRun.js';
import { pipelineStageKind } from './pipelineStage.js';
import { environmentKind } from './environment.js';
import { pipelineDeploymentKind } from './pipelineDeployment.js';
import { releaseKind } from './release.js';
import { releaseDefinitionKind } from './releaseDefinition.js';
import { releaseDeploymentKind } from './releaseDeployment.js';
import { testRunKind } from './testRun.js';
import { userKind } from './user.js';
import { groupKind } from './group.js';
import { groupMemberKind } from './groupMember.js';
import { servicePrincipalKind } from './servicePrincipal.js';
import { userEntitlementKind } from './userEntitlement.js';
import { boardKind } from './board.js';
import { columnKind } from './column.js';
import { iterationKind } from './iteration.js';
import { areaPathKind } from './areaPath.js';
import type { FetchContext, KindDefinition, RawItem, Selector } from './types.js';

/** Every kind the worker knows, in the order they are documented. */
export const KINDS: ReadonlyArray<KindDefinition<never>> = [projectKind, repositoryKind, repositoryPolicyKind, branchKind, pullRequestKind, fileKind, folderKind, gitopsKind, wikiKind, advancedSecurityAlertKind, workItemKind, teamKind, memberKind, pipelineKind, buildKind, pipelineRunKind, pipelineStageKind, environmentKind, pipelineDeploymentKind, releaseKind, releaseDefinitionKind, releaseDeploymentKind, testRunKind, userKind, groupKind, groupMemberKind, servicePrincipalKind, userEntitlementKind, boardKind, columnKind, iterationKind, areaPathKind] as unknown as KindDefinition<never>[];

const byName = new Map(KINDS.map((k) => [k.kind, k as unknown as KindDefinition]));

export function kindNames(): string[] {
  return [...byName.keys()];
}

export function getKind(kind: string): KindDefinition | undefined {
  return byName.get(kind);
}

/** Runs a kind's fetcher and stamps every item with the organization it came from. */
export async function* fetchKind(
  kind: KindDefinition,
  ctx: FetchContext,
  selector: Selector,
  org: Organization,
  /** An incremental pass: what changed since then (kinds without a change filter are listed whole). */
  since?: Date,
): AsyncGenerator<RawItem[]> {
  const pages = since && kind.incremental ? kind.incremental.since(ctx, selector, since) : kind.fetch(ctx, selector);
  for await (const page of pages) {
    for (const item of page) {
      item.__organizationName = org.name;
      item.__organizationUrl = org.url;
    }
    yield page;
  }
}
