/** Vocabulary for generated names. Changing these lists changes generated data; append rather than edit. */

/** Index 1 has a space on purpose (real project names often do). */
export const PROJECT_NAMES = [
  'Platform',
  'Fabrikam Fiber',
  'Payments',
  'Mobile Apps',
  'DataLake',
  'Identity',
  'Search Services',
  'Observability',
  'Checkout',
  'Infra-Tools',
  'Marketing Web',
  'Logistics',
] as const;

export const PROJECT_DESCRIPTIONS = [
  'Core services shared by every product team.',
  'Fiber network provisioning and customer portal.',
  'Payment processing, invoicing and reconciliation.',
  'iOS and Android applications.',
  'Ingestion pipelines and the analytics warehouse.',
  'Sign-in, tokens and user directory.',
  'Product search and recommendations.',
  'Metrics, logs and tracing.',
] as const;

export const REPO_NAMES = [
  'web-api',
  'frontend',
  'infrastructure',
  'docs',
  'worker',
  'shared-lib',
  'deploy-scripts',
  'mobile-client',
  'gateway',
  'billing-service',
  'notifications',
  'auth-proxy',
  'etl-jobs',
  'design-system',
  'load-tests',
  'terraform-modules',
] as const;

export const FIRST_NAMES = [
  'Ada', 'Bruno', 'Chen', 'Dalia', 'Emeka', 'Farah', 'Gustav', 'Hana', 'Ines', 'Jonas', 'Keiko', 'Luca',
  'Maya', 'Nikhil', 'Olga', 'Pedro', 'Quinn', 'Rosa', 'Sven', 'Tariq', 'Uma', 'Viktor', 'Wen', 'Yusuf',
] as const;

export const LAST_NAMES = [
  'Adeyemi', 'Bauer', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Haddad', 'Ivanova', 'Jensen',
  'Kowalski', 'Larsen', 'Moreau', 'Nakamura', 'Okafor', 'Petrov', 'Rossi', 'Silva', 'Tanaka', 'Weber',
] as const;

export const PR_VERBS = ['Add', 'Fix', 'Refactor', 'Remove', 'Update', 'Improve', 'Document', 'Speed up', 'Harden', 'Test'] as const;

export const PR_OBJECTS = [
  'retry policy for the HTTP client',
  'login redirect loop',
  'build pipeline caching',
  'dependency versions',
  'README getting-started section',
  'flaky integration test',
  'pagination of the orders endpoint',
  'logging of request ids',
  'feature flag for the new checkout',
  'database migration for invoices',
  'null handling in the mapper',
  'Dockerfile base image',
  'rate limiter configuration',
  'error messages shown to users',
] as const;

export const SENTENCES = [
  'This change keeps the existing behaviour for callers that do not opt in.',
  'Covered by new unit tests; the integration suite passes locally.',
  'Follow-up to the incident review from last sprint.',
  'No schema changes are required.',
  'Reviewers: please focus on the error handling paths.',
  'Metrics dashboards were updated to match the new names.',
  'The old code path is kept behind a flag for one release.',
  'Performance is unchanged in the benchmark run attached to the work item.',
] as const;

export const BRANCH_PREFIXES = ['feature/', 'bugfix/', 'chore/', 'users/'] as const;
