/** Synthetic pull-request payloads shaped like Azure DevOps' GitPullRequest (about 2.7 KB each), deterministic. */
export function pullRequestPayload(i: number): Record<string, unknown> {
  const org = 'https://dev.azure.com/fabrikam';
  const repoId = `3411ebc1-d5aa-464f-9615-${String(100000000000 + (i % 500)).padStart(12, '0')}`;
  const projectId = `a7573007-bbb3-4341-b726-${String(100000000000 + (i % 20)).padStart(12, '0')}`;
  const person = (n: number) => ({
    id: `d6245f20-2af8-44f4-9451-${String(n).padStart(12, '0')}`,
    displayName: `Person ${n}`,
    uniqueName: `person${n}@fabrikam.com`,
    url: `${org}/_apis/Identities/d6245f20-2af8-44f4-9451-${String(n).padStart(12, '0')}`,
    imageUrl: `${org}/_api/_common/identityImage?id=d6245f20-2af8-44f4-9451-${String(n).padStart(12, '0')}`,
  });
  const created = new Date(Date.UTC(2026, 0, 1) + i * 60_000);
  const closed = i % 3 === 0 ? null : new Date(created.getTime() + (i % 97) * 3_600_000);
  const status = closed ? (i % 5 === 0 ? 'abandoned' : 'completed') : 'active';
  return {
    repository: {
      id: repoId,
      name: `repo-${i % 500}`,
      url: `${org}/_apis/git/repositories/${repoId}`,
      project: { id: projectId, name: `Project ${i % 20}`, state: 'wellFormed' },
    },
    pullRequestId: i + 1,
    codeReviewId: i + 1,
    status,
    createdBy: person(i % 50),
    creationDate: created.toISOString().replace('Z', '1234Z'),
    closedDate: closed ? closed.toISOString().replace('Z', '5678Z') : undefined,
    title: `Change number ${i} to the service`,
    description: `Implements item ${i}. `.repeat(8),
    sourceRefName: `refs/heads/feature/item-${i}`,
    targetRefName: 'refs/heads/main',
    mergeStatus: 'succeeded',
    isDraft: i % 11 === 0,
    mergeId: `f5fc8381-3fb2-49fe-8a0d-${String(i).padStart(12, '0')}`,
    lastMergeSourceCommit: { commitId: 'b60280bc6e62e2f880f1b63c1e24987664d3bda3', url: `${org}/_apis/git/repositories/${repoId}/commits/b60280bc6e62e2f880f1b63c1e24987664d3bda3` },
    lastMergeTargetCommit: { commitId: 'f47bbc106853afe3c1b07a81754bce5f4b8dbf62', url: `${org}/_apis/git/repositories/${repoId}/commits/f47bbc106853afe3c1b07a81754bce5f4b8dbf62` },
    reviewers: [0, 1, 2].map((k) => ({ ...person((i + k + 7) % 50), vote: [10, 5, 0, -5, -10][(i + k) % 5], isRequired: k === 0, reviewerUrl: `${org}/_apis/git/repositories/${repoId}/pullRequests/${i + 1}/reviewers/${k}` })),
    url: `${org}/_apis/git/repositories/${repoId}/pullRequests/${i + 1}`,
    supportsIterations: true,
    __organizationName: 'fabrikam',
    __organizationUrl: org,
  };
}
