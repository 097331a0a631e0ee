/** Wire shapes served by the simulator (field names as Azure DevOps 7.1 sends them). */

export interface Link {
  href: string;
}

export interface IdentityRef {
  displayName: string;
  url: string;
  _links: { avatar: Link };
  id: string;
  uniqueName: string;
  imageUrl: string;
  descriptor: string;
}

export interface IdentityRefWithVote extends IdentityRef {
  reviewerUrl: string;
  vote: number;
  hasDeclined: boolean;
  isRequired?: boolean;
  isFlagged: boolean;
}

export type ProjectState = 'wellFormed' | 'new' | 'deleting' | 'createPending' | 'unchanged' | 'deleted';

export interface TeamProjectReference {
  id: string;
  name: string;
  description?: string;
  url: string;
  state: ProjectState;
  revision: number;
  visibility: 'private' | 'public';
  lastUpdateTime: string;
}

export interface TeamProject extends TeamProjectReference {
  capabilities?: {
    versioncontrol: { sourceControlType: string; gitEnabled: string; tfvcEnabled: string };
    processTemplate: { templateName: string; templateTypeId: string };
  };
  _links: { self: Link; collection: Link; web: Link };
  defaultTeam: { id: string; name: string; url: string };
}

export interface GitRepository {
  id: string;
  name: string;
  url: string;
  project: TeamProjectReference;
  defaultBranch?: string;
  size: number;
  remoteUrl: string;
  sshUrl: string;
  webUrl: string;
  isDisabled: boolean;
  isInMaintenance: boolean;
  _links?: Record<string, Link>;
}

/** The repository as embedded in a pull request. */
export interface GitRepositoryRef {
  id: string;
  name: string;
  url: string;
  project: TeamProjectReference;
}

export type PullRequestStatus = 'active' | 'completed' | 'abandoned';

export interface GitCommitRef {
  commitId: string;
  url: string;
}

export interface GitPullRequest {
  repository: GitRepositoryRef;
  pullRequestId: number;
  codeReviewId: number;
  status: PullRequestStatus;
  createdBy: IdentityRef;
  creationDate: string;
  closedDate?: string;
  closedBy?: IdentityRef;
  title: string;
  description: string;
  sourceRefName: string;
  targetRefName: string;
  mergeStatus: 'succeeded' | 'conflicts' | 'queued' | 'notSet';
  isDraft: boolean;
  mergeId: string;
  lastMergeSourceCommit: GitCommitRef;
  lastMergeTargetCommit: GitCommitRef;
  lastMergeCommit?: GitCommitRef;
  reviewers: IdentityRefWithVote[];
  completionOptions?: { mergeStrategy: string; deleteSourceBranch: boolean; transitionWorkItems: boolean };
  completionQueueTime?: string;
  url: string;
  supportsIterations: boolean;
  artifactId: string;
}

export interface GitItem {
  objectId: string;
  gitObjectType: 'blob' | 'tree';
  commitId: string;
  path: string;
  isFolder?: boolean;
  url: string;
  content?: string;
  contentMetadata?: {
    fileName: string;
    extension: string;
    encoding: number;
    contentType: string;
    isBinary: boolean;
    isImage: boolean;
  };
}
