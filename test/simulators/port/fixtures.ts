/** Small blueprints shaped like the Ocean Azure DevOps defaults, for tests against the simulator. */
import type { Blueprint } from './types.js';

export const projectBlueprint: Blueprint = {
  identifier: 'project',
  title: 'Project',
  schema: {
    properties: {
      state: { type: 'string', enum: ['wellFormed', 'createPending', 'deleting', 'new', 'unchanged'] },
      revision: { type: 'number' },
      visibility: { type: 'string' },
      defaultTeam: { type: 'string' },
      link: { type: 'string', format: 'url' },
    },
    required: [],
  },
  relations: {},
};

export const repositoryBlueprint: Blueprint = {
  identifier: 'repository',
  title: 'Repository',
  schema: {
    properties: {
      url: { type: 'string', format: 'url' },
      defaultBranch: { type: 'string' },
      isDisabled: { type: 'boolean' },
      size: { type: 'number' },
      readme: { type: 'string', format: 'markdown' },
    },
    required: ['url'],
  },
  relations: {
    project: { target: 'project', required: false, many: false },
  },
};

export const serviceBlueprint: Blueprint = {
  identifier: 'service',
  title: 'Service',
  schema: { properties: { tier: { type: 'string' } }, required: [] },
  relations: {
    repositories: { target: 'repository', required: false, many: true },
  },
};

export const defaultBlueprints = (): Blueprint[] => structuredClone([projectBlueprint, repositoryBlueprint, serviceBlueprint]);
