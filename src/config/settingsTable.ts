/**
 * Integration settings, declared once. Each entry gives a setting's flag, its environment variables (this worker's
 * name first, then aliases: Ocean's variable where Ocean had one, so an Ocean install's environment keeps working),
 * its type, default, validation and description. The `Settings` type, parsing and validation (settings.ts), the
 * names in error messages, `--help` (cli/help.ts) and the README's settings tables (test/unit/readme.test.ts) are all
 * derived from this table: adding a setting is adding one entry.
 */
import { cpus } from 'node:os';
import { LOG_FORMATS, LOG_LEVELS } from '../observability/log.js';

/** What a setting is about. Each command's --help shows the topics it reads; the README lists a setting in the table of its first topic. */
export type SettingTopic = 'ado' | 'mapping' | 'sync' | 'port' | 'cluster' | 'webhooks' | 'actions' | 'logging';

interface Common {
  /** The flag, without `--`. None for a variable read straight from the environment (JQ_PATH, read by node-jq too). */
  flag?: string;
  /** Environment variables, in order of precedence: this worker's name, then aliases (Ocean's, the Azure SDK's). */
  env: readonly [string, ...string[]];
  /** Scrubbed from output; the Helm chart keeps it in a Secret. */
  secret?: boolean;
  topics: readonly [SettingTopic, ...SettingTopic[]];
  /** One sentence or two for help and the README; `code` is in backticks (help prints it plain). */
  description: string;
  /** How the default reads in help and the README when it is not a fixed value (computed, or decided elsewhere). */
  defaultText?: string;
}

type Typed =
  | { type: 'int'; default?: number; min?: number }
  | { type: 'bool'; default?: boolean }
  | { type: 'list'; default?: readonly string[] }
  | {
      type: 'string';
      default?: string;
      /** The accepted values; anything else is an input error `SOURCE: "x" is not VALUE_NAME (values)`. */
      values?: readonly string[];
      valueName?: string;
      /** The accepted values as the error message lists them, when that is more than `values` (aliases). */
      valuesText?: string;
      /** Applied before `values` are checked (other spellings of a value). */
      normalize?: (text: string) => string;
    };

export type SettingDeclaration = Common & Typed;

/** `single`, `multiple`, or Ocean's "Single Account" / "Multiple Accounts" (any case, spaces, dashes or underscores). */
function accountModeSpelling(text: string): string {
  const norm = text.toLowerCase().replace(/[\s_-]+/g, ' ');
  if (norm === 'single account') return 'single';
  if (norm === 'multiple accounts' || norm === 'multi') return 'multiple';
  return norm;
}

const SERVE_WORKER = 'serve/worker:';

export const SETTING_DECLARATIONS = {
  // ado: organizations and authentication
  organizationUrl: { flag: 'org', env: ['ADO_ORGANIZATION_URL', 'OCEAN__INTEGRATION__CONFIG__ORGANIZATION_URL'], type: 'string', topics: ['ado'], description: 'Organization URL: `https://dev.azure.com/{org}`, `https://{org}.visualstudio.com`, or Azure DevOps Server `https://host/tfs/{collection}`' },
  personalAccessToken: { flag: 'pat', env: ['ADO_PERSONAL_ACCESS_TOKEN', 'AZURE_DEVOPS_PAT', 'OCEAN__INTEGRATION__CONFIG__PERSONAL_ACCESS_TOKEN'], type: 'string', secret: true, topics: ['ado'], description: 'Personal access token with read scopes for the kinds you sync (single mode)' },
  adoFlavor: { flag: 'ado-flavor', env: ['ADO_FLAVOR'], type: 'string', values: ['services', 'server'], valueName: 'an Azure DevOps flavor', topics: ['ado'], defaultText: '`server`', description: '`services` (a proxy of Azure DevOps Services) or `server`: how to treat an organization URL on a custom host' },
  accountMode: {
    flag: 'account-mode', env: ['ADO_ACCOUNT_MODE', 'OCEAN__INTEGRATION__CONFIG__ACCOUNT_MODE'], type: 'string', topics: ['ado'],
    values: ['single', 'multiple'], normalize: accountModeSpelling, valueName: 'an account mode', valuesText: 'single or multiple; Ocean\'s "Single Account" / "Multiple Accounts" are read too',
    defaultText: '`multiple` when only organization URLs are set, else `single`',
    description: '`single` (one organization URL and a PAT) or `multiple` (a list of organization URLs and an Entra ID credential); Ocean\'s "Single Account" / "Multiple Accounts" are accepted',
  },
  organizationUrls: { flag: 'org-urls', env: ['ADO_ORGANIZATION_URLS', 'OCEAN__INTEGRATION__CONFIG__ORGANIZATION_URLS'], type: 'list', topics: ['ado'], description: 'multiple mode: organization URLs, comma-separated' },
  authMethod: {
    flag: 'auth-method', env: ['ADO_AUTH_METHOD'], type: 'string', topics: ['ado'], values: ['pat', 'client-secret', 'client-certificate', 'managed-identity', 'workload-identity'], normalize: (t: string) => t.toLowerCase(), valueName: 'an auth method',
    defaultText: '`pat` in single mode, `client-secret` in multiple mode',
    description: '`pat`, `client-secret`, `client-certificate`, `managed-identity` or `workload-identity`',
  },
  clientId: { flag: 'client-id', env: ['ADO_CLIENT_ID', 'OCEAN__INTEGRATION__CONFIG__CLIENT_ID', 'AZURE_CLIENT_ID'], type: 'string', topics: ['ado'], description: 'Entra ID application (client) id of the service principal, or the workload identity\'s client id' },
  clientSecret: { flag: 'client-secret', env: ['ADO_CLIENT_SECRET', 'OCEAN__INTEGRATION__CONFIG__CLIENT_SECRET', 'AZURE_CLIENT_SECRET'], type: 'string', secret: true, topics: ['ado'], description: 'client-secret auth: the service principal\'s client secret' },
  tenantId: { flag: 'tenant-id', env: ['ADO_TENANT_ID', 'OCEAN__INTEGRATION__CONFIG__TENANT_ID', 'AZURE_TENANT_ID'], type: 'string', topics: ['ado'], description: 'Entra ID tenant (directory) id' },
  clientCertificatePath: { flag: 'client-certificate-path', env: ['ADO_CLIENT_CERTIFICATE_PATH', 'AZURE_CLIENT_CERTIFICATE_PATH'], type: 'string', topics: ['ado'], description: 'client-certificate auth: PEM file holding the certificate and its private key' },
  clientCertificatePassword: { flag: 'client-certificate-password', env: ['ADO_CLIENT_CERTIFICATE_PASSWORD', 'AZURE_CLIENT_CERTIFICATE_PASSWORD'], type: 'string', secret: true, topics: ['ado'], description: 'client-certificate auth: password of an encrypted private key' },
  managedIdentityClientId: { flag: 'managed-identity-client-id', env: ['ADO_MANAGED_IDENTITY_CLIENT_ID'], type: 'string', topics: ['ado'], defaultText: 'the system-assigned identity', description: 'managed-identity auth: client id of a user-assigned identity' },
  federatedTokenFile: { flag: 'federated-token-file', env: ['AZURE_FEDERATED_TOKEN_FILE'], type: 'string', topics: ['ado'], description: 'workload-identity auth: the projected service account token (set by the AKS workload identity webhook)' },
  authorityHost: { flag: 'authority-host', env: ['ADO_AUTHORITY_HOST', 'AZURE_AUTHORITY_HOST'], type: 'string', topics: ['ado'], defaultText: '`https://login.microsoftonline.com`', description: 'Entra ID authority (sovereign clouds); an http loopback authority is a test stand-in' },
  allowedServerHosts: { flag: 'allowed-server-hosts', env: ['ADO_ALLOWED_SERVER_HOSTS'], type: 'list', topics: ['ado'], description: 'multiple mode: Azure DevOps Server hosts allowed besides `dev.azure.com` and `*.visualstudio.com`, comma-separated' },

  // mapping
  configFile: { flag: 'config', env: ['PORT_APP_CONFIG', 'PORT_APP_CONFIG_FILE'], type: 'string', default: 'mappings/port-app-config.yml', topics: ['mapping'], description: 'port-app-config YAML' },
  jqPoolSize: { flag: 'jq-pool-size', env: ['JQ_POOL_SIZE'], type: 'int', min: 1, default: Math.max(1, cpus().length), defaultText: 'number of cores', topics: ['mapping'], description: 'jq processes per resource' },
  jqPath: { env: ['JQ_PATH'], type: 'string', topics: ['mapping'], defaultText: '`/usr/bin/jq` when it exists, else `jq` on PATH', description: 'The jq binary; node-jq reads this variable too' },
  jqAllowedEnv: { env: ['JQ_ALLOWED_ENV'], type: 'list', topics: ['mapping'], defaultText: 'none', description: 'Environment variables jq mappings may read with `env`/`$ENV`, comma-separated; jq processes get no other part of the worker\'s environment, so credentials cannot leak into the catalog' },

  // sync
  pageSize: { flag: 'page-size', env: ['ADO_PAGE_SIZE'], type: 'int', min: 1, default: 1000, topics: ['sync'], description: 'Page size for list endpoints, capped per endpoint' },
  orgConcurrency: { flag: 'org-concurrency', env: ['ADO_CONCURRENCY'], type: 'int', min: 1, default: 8, topics: ['sync'], description: 'Requests in flight per organization' },
  requestTimeoutMs: { flag: 'request-timeout-ms', env: ['ADO_REQUEST_TIMEOUT_MS', 'OCEAN__CLIENT_TIMEOUT_MS'], type: 'int', min: 1, default: 60_000, topics: ['sync'], description: 'Timeout of one Azure DevOps request, in milliseconds' },
  maxAttempts: { flag: 'max-attempts', env: ['ADO_MAX_ATTEMPTS'], type: 'int', min: 1, default: 6, topics: ['sync'], description: 'Attempts per Azure DevOps request before it fails; 429 answers are not counted: the request waits out Retry-After and retries, up to 50 times' },
  maxConcurrentOrganizations: { flag: 'max-concurrent-organizations', env: ['ADO_MAX_CONCURRENT_ORGANIZATIONS'], type: 'int', min: 1, default: 2, topics: ['sync'], description: 'Organizations synced at once' },
  maxConcurrentResources: { flag: 'max-concurrent-resources', env: ['ADO_MAX_CONCURRENT_RESOURCES'], type: 'int', min: 1, default: 1, topics: ['sync'], description: 'Resources of one organization synced at once when nothing orders them (a unique literal blueprint, and relations only with createMissingRelatedEntities; see "Resource order"); `dry-run` always runs one at a time' },

  // logging
  logLevel: { flag: 'log-level', env: ['LOG_LEVEL', 'OCEAN__LOG_LEVEL'], type: 'string', values: LOG_LEVELS, valueName: 'a log level', default: 'info', topics: ['logging'], description: '`trace`, `debug`, `info`, `warn`, `error`, `fatal` or `silent`' },
  logFormat: { flag: 'log-format', env: ['LOG_FORMAT'], type: 'string', values: LOG_FORMATS, valueName: 'a log format', defaultText: '`pretty` on a terminal, `json` elsewhere', topics: ['logging'], description: '`pretty` (one readable line per event) or `json`' },

  // port
  portClientId: { flag: 'port-client-id', env: ['PORT_CLIENT_ID', 'OCEAN__PORT__CLIENT_ID'], type: 'string', secret: true, topics: ['port'], description: 'Port client id' },
  portClientSecret: { flag: 'port-client-secret', env: ['PORT_CLIENT_SECRET', 'OCEAN__PORT__CLIENT_SECRET'], type: 'string', secret: true, topics: ['port'], description: 'Port client secret' },
  portBaseUrl: { flag: 'port-base-url', env: ['PORT_BASE_URL', 'OCEAN__PORT__BASE_URL'], type: 'string', default: 'eu', topics: ['port'], description: 'Port API: `eu` (`https://api.port.io`), `us` (`https://api.us.port.io`) or any URL' },
  integrationIdentifier: { flag: 'integration-identifier', env: ['INTEGRATION_IDENTIFIER', 'OCEAN__INTEGRATION__IDENTIFIER'], type: 'string', default: 'ado-catalog-sync', topics: ['port'], description: 'Names this installation; part of the ownership stamp of every entity written' },
  adoptOceanIdentifier: { flag: 'adopt-ocean-entities', env: ['ADOPT_OCEAN_IDENTIFIER'], type: 'string', topics: ['port'], description: 'Migration from Ocean: entities written by Ocean\'s Azure DevOps integration installed under this identifier count as owned (stale deletion keeps working; every write re-stamps them as this worker\'s; see "Ownership")' },
  redisUrl: { flag: 'redis-url', env: ['REDIS_URL'], type: 'string', topics: ['port', 'cluster'], description: 'Redis (e.g. `redis://127.0.0.1:6379`): keeps entity hashes between runs (unchanged entities are not re-sent), the run\'s list of produced entities (so memory does not grow with the organization) and run state; cluster mode needs it' },
  blueprintsDir: { flag: 'blueprints', env: ['BLUEPRINTS_DIR'], type: 'string', default: 'blueprints', topics: ['port'], description: 'Folder of blueprint JSON files created in Port when missing' },

  // cluster
  resyncIntervalMinutes: { flag: 'resync-interval-minutes', env: ['RESYNC_INTERVAL_MINUTES', 'OCEAN__SCHEDULED_RESYNC_INTERVAL'], type: 'int', topics: ['cluster'], description: `${SERVE_WORKER} full resync every N minutes (one job scheduler per cluster; the first run starts at once)` },
  resyncCron: { flag: 'resync-cron', env: ['RESYNC_CRON'], type: 'string', topics: ['cluster'], description: `${SERVE_WORKER} full resync on this cron pattern (instead of an interval)` },
  resyncIncrementalMinutes: {
    flag: 'resync-incremental-minutes', env: ['RESYNC_INCREMENTAL_MINUTES'], type: 'int', min: 1, topics: ['cluster'],
    description: `${SERVE_WORKER} incremental resync every N minutes, beside the full one: only what changed since each resource's last completed pass, nothing deleted (a second job scheduler; its first run comes one interval after it is created). It takes the same lock as a full run: a tick while a resync runs is skipped`,
  },
  resyncOnStart: { flag: 'resync-on-start', env: ['RESYNC_ON_START'], type: 'bool', topics: ['cluster'], description: `${SERVE_WORKER} trigger a full resync at start (joins one already running)` },
  serverPort: { flag: 'port', env: ['PORT', 'SERVER_PORT'], type: 'int', default: 8000, topics: ['cluster'], description: 'serve: HTTP port' },
  serverHost: { flag: 'host', env: ['SERVER_HOST'], type: 'string', default: '0.0.0.0', topics: ['cluster'], description: 'serve: HTTP listen address' },
  adminToken: { flag: 'admin-token', env: ['ADMIN_TOKEN'], type: 'string', secret: true, topics: ['cluster'], description: 'serve: bearer token of `POST /admin/resync` (the endpoint is off without it)' },
  metricsToken: { flag: 'metrics-token', env: ['METRICS_TOKEN'], type: 'string', secret: true, topics: ['cluster'], description: 'serve: bearer token `GET /metrics` requires (without it `/metrics` is open to anyone who reaches the port)' },
  shutdownGraceMs: { flag: 'shutdown-grace-ms', env: ['SHUTDOWN_GRACE_MS'], type: 'int', default: 25_000, topics: ['cluster'], description: `${SERVE_WORKER} time given to running jobs on SIGTERM before they are handed back, in milliseconds` },
  workerConcurrency: { flag: 'worker-concurrency', env: ['WORKER_CONCURRENCY'], type: 'int', default: 2, topics: ['cluster'], description: `${SERVE_WORKER} resync and action-run jobs one replica runs at once (webhook events: \`WEBHOOK_CONCURRENCY\`)` },
  webhookConcurrency: {
    flag: 'webhook-concurrency',
    env: ['WEBHOOK_CONCURRENCY'],
    type: 'int',
    min: 1,
    default: 32,
    topics: ['cluster'],
    description: `${SERVE_WORKER} webhook events one replica handles at once. An event is a few Azure DevOps requests and one Port write, nearly all waiting on the network, so this is sized for I/O, unlike \`WORKER_CONCURRENCY\`: at 32 the events' requests fill \`ADO_CONCURRENCY\` (8 per organization) several times over, so Azure DevOps, not the worker, sets the pace; events on one subject still run one at a time`,
  },
  jobAttempts: { flag: 'job-attempts', env: ['JOB_ATTEMPTS'], type: 'int', default: 3, topics: ['cluster'], description: `${SERVE_WORKER} attempts of a failed job (exponential backoff) before it stays in the failed set` },
  jobLockMs: { flag: 'job-lock-ms', env: ['JOB_LOCK_MS'], type: 'int', default: 30_000, topics: ['cluster'], description: `${SERVE_WORKER} job lock, in milliseconds; a crashed replica's jobs are retried once it lapses` },
  orgJobConcurrency: { flag: 'org-job-concurrency', env: ['ORG_JOB_CONCURRENCY'], type: 'int', default: 2, topics: ['cluster'], description: `${SERVE_WORKER} resource jobs of one organization running at once across the cluster` },

  // webhooks (service hooks)
  webhookSecret: { flag: 'webhook-secret', env: ['WEBHOOK_SECRET', 'OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET'], type: 'string', secret: true, topics: ['webhooks', 'cluster'], description: 'Shared secret of the Azure DevOps service hooks (basic-auth password or `X-Webhook-Secret` header)' },
  webhookAuthUsername: { flag: 'webhook-auth-username', env: ['WEBHOOK_AUTH_USERNAME', 'OCEAN__INTEGRATION__CONFIG__WEBHOOK_AUTH_USERNAME'], type: 'string', default: 'port', topics: ['webhooks', 'cluster'], description: 'Basic-auth user name of the service hooks' },
  appHost: { flag: 'app-host', env: ['APP_HOST', 'OCEAN__BASE_URL', 'OCEAN__INTEGRATION__CONFIG__APP_HOST'], type: 'string', topics: ['webhooks', 'cluster'], description: 'Public base URL of this service; with it, service-hook subscriptions delivering to `{appHost}/webhooks/azure-devops` are created and repaired' },
  isProjectsLimited: { flag: 'projects-limited', env: ['IS_PROJECTS_LIMITED', 'OCEAN__INTEGRATION__CONFIG__IS_PROJECTS_LIMITED'], type: 'bool', default: true, topics: ['webhooks'], description: '`true`: a service-hook subscription per project and event, as Ocean; `false`: one per organization' },

  // actions: Port action runs executed in Azure DevOps
  actionsEnabled: { flag: 'actions-enabled', env: ['ACTIONS_ENABLED'], type: 'list', default: [], defaultText: 'none', topics: ['actions', 'cluster'], description: 'The action identifiers this installation executes, comma-separated (none by default: `POST /actions/port` refuses every run)' },
  actionsAllowDeprovision: { flag: 'actions-allow-deprovision', env: ['ACTIONS_ALLOW_DEPROVISION'], type: 'bool', default: false, topics: ['actions'], description: '`ado_remove_user` removes users from the organization only when this is `true`' },
  actionsPipelinePollMs: { flag: 'actions-pipeline-poll-ms', env: ['ACTIONS_PIPELINE_POLL_MS'], type: 'int', min: 1, default: 15_000, topics: ['actions'], description: '`ado_run_pipeline` reads a queued run this often, in milliseconds, until it completes (at most six hours)' },
  microsoftGraphUrl: { flag: 'microsoft-graph-url', env: ['MICROSOFT_GRAPH_URL'], type: 'string', default: 'https://graph.microsoft.com/v1.0', topics: ['actions'], description: 'Microsoft Graph, for the membership of Entra-sourced groups (service-principal auth only)' },
} as const satisfies Record<string, SettingDeclaration>;

type Declarations = typeof SETTING_DECLARATIONS;
export type SettingKey = keyof Declarations;

/** The value a declaration parses to: one of its `values`, else by its type. */
type ValueOf<D> = D extends { values: readonly (infer V)[] } ? V
  : D extends { type: 'int' } ? number
  : D extends { type: 'bool' } ? boolean
  : D extends { type: 'list' } ? string[]
  : string;
type Defaulted = { [K in SettingKey]: Declarations[K] extends { default: unknown } ? K : never }[SettingKey];
type Flat<T> = { [K in keyof T]: T[K] };

/** Every setting, typed from its declaration: present when it has a default, optional otherwise. */
export type Settings = Flat<{ [K in Defaulted]: ValueOf<Declarations[K]> } & { [K in Exclude<SettingKey, Defaulted>]?: ValueOf<Declarations[K]> }>;

export type SettingSpec = SettingDeclaration & { key: SettingKey };

/** The declarations as a list, in declaration order (help and README order). */
export const SETTINGS: readonly SettingSpec[] = Object.entries(SETTING_DECLARATIONS).map(([key, d]) => ({ key: key as SettingKey, ...(d as SettingDeclaration) }));

export function settingSpec(key: SettingKey): SettingSpec {
  return SETTINGS.find((s) => s.key === key)!;
}

/** `key (ENV / ALIAS / --flag)`: how error messages name a setting that is set in more than one way. */
export function settingName(key: SettingKey): string {
  const s = settingSpec(key);
  return `${key} (${[...s.env, ...(s.flag ? [`--${s.flag}`] : [])].join(' / ')})`;
}

/** `pass --flag or set ENV (or ALIAS / ALIAS)`: how to set a missing setting. */
export function howToSet(key: SettingKey): string {
  const s = settingSpec(key);
  const [first, ...aliases] = s.env;
  const set = `set ${first}${aliases.length > 0 ? ` (or ${aliases.join(' / ')})` : ''}`;
  return s.flag ? `pass --${s.flag} or ${set}` : set;
}

/** The description with its default, `code` rendered by `code` (backticks in the README, plain in help). */
export function settingMeaning(s: SettingSpec, code: (text: string) => string): string {
  const text = (t: string) => t.replace(/`([^`]*)`/g, (_, c: string) => code(c));
  const value = s.default === undefined ? undefined : Array.isArray(s.default) ? s.default.join(',') : String(s.default);
  const dflt = s.defaultText !== undefined ? ` (default: ${text(s.defaultText)})` : value !== undefined ? ` (default ${code(value)})` : '';
  return `${text(s.description)}${dflt}`;
}
