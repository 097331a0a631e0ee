/** api-version pins. 7.1 is the latest GA; preview-only resources carry their suffix. */
export const API = {
  ga: '7.1',
  teams: '7.1-preview.3',
  graph: '7.1-preview.1',
  hooks: '7.1-preview.1',
  audit: '7.1-preview.1',
} as const;

/** Page sizes each endpoint accepts at most (Azure DevOps rejects or silently caps larger `$top`). */
export const MAX_PAGE = {
  projects: 1000,
  pullRequests: 1000,
} as const;
