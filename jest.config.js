/**
 * Tests run on the TypeScript sources (ts-jest, ESM); type checking is done once by `npm run typecheck`.
 * Three tiers, as jest projects:
 * - unit: no Redis, no jq, no child process, no server: pure code and the repository's own files; seconds;
 * - integration: real Redis, real jq, the Azure DevOps and Port simulators over loopback, the built CLI, the fault suite;
 * - packaging: the Dockerfile replayed without Docker, the Helm chart rendered and checked.
 * `npm test` runs all three; `npm run test:unit` (or `jest --selectProjects unit`) the first alone.
 */
const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false }],
  },
};

export default {
  testTimeout: 60000,
  maxWorkers: 2,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/test/faults/**/*.test.ts', '<rootDir>/test/simulators/**/*.test.ts'],
    },
    { ...common, displayName: 'packaging', testMatch: ['<rootDir>/test/packaging/**/*.test.ts'] },
  ],
};
