import { cpus } from 'node:os';
import { UserInputError } from '../util/errors.js';
import { assertLogFormat, assertLogLevel } from '../util/log.js';

/**
 * Integration settings. Each has a flag, an environment variable and, where Ocean had one, Ocean's variable as an
 * alias, so an Ocean install's environment keeps working.
 */
/** What a setting is about; each command's --help shows the topics it reads. */
export type SettingTopic = 'ado' | 'mapping' | 'sync' | 'port' | 'cluster' | 'webhooks' | 'logging';

export interface SettingSpec {
  key: keyof Settings;
  flag: string;
  env: string[];
  type: 'string' | 'int' | 'number' | 'bool' | 'list';
  secret?: boolean;
  topics: SettingTopic[];
  description: string;
}

export interface Settings {
  organizationUrl?: string;
  personalAccessToken?: string;
  /** Treat a custom host as Azure DevOps Services (`services`) or Server (`server`); default by host. */
  adoFlavor?: 'services' | 'server';
  configFile: string;
  blueprintsDir: string;
  jqPoolSize: number;
  pageSize: number;
  orgConcurrency: number;
  requestTimeoutMs: number;
  maxAttempts: number;
  logLevel: string;
  /** pretty (one readable line per event) or json; default pretty on a terminal, json elsewhere. */
  logFormat?: 'pretty' | 'json';
  portClientId?: string;
  portClientSecret?: string;
  portBaseUrl: string;
  integrationIdentifier: string;
  /** Migration from Ocean: entities of Ocean's Azure DevOps integration installed under this identifier count as owned. */
  adoptOceanIdentifier?: string;
  redisUrl?: string;
  /** Multi-organization mode and Entra ID auth (issue 7); normalized and validated by sync/targets.ts. */
  accountMode?: string;
  organizationUrls?: string[];
  authMethod?: string;
  clientId?: string;
  clientSecret?: string;
  tenantId?: string;
  clientCertificatePath?: string;
  clientCertificatePassword?: string;
  managedIdentityClientId?: string;
  federatedTokenFile?: string;
  authorityHost?: string;
  allowedServerHosts?: string[];
  maxConcurrentOrganizations: number;
  maxConcurrentResources: number;
  /** Cluster mode (issue 5). */
  resyncIntervalMinutes?: number;
  resyncCron?: string;
  resyncOnStart?: boolean;
  serverPort: number;
  serverHost: string;
  webhookSecret?: string;
  /** Basic-auth user name of the service hooks (Ocean's default `port`). */
  webhookAuthUsername: string;
  /** Public base URL of `serve`; service-hook subscriptions point at `${appHost}/webhooks/azure-devops`. */
  appHost?: string;
  /** Subscriptions per project (true, Ocean's default) or once per organization. */
  isProjectsLimited: boolean;
  adminToken?: string;
  /** Bearer token of GET /metrics; /metrics is open without it. */
  metricsToken?: string;
  shutdownGraceMs: number;
  workerConcurrency: number;
  jobAttempts: number;
  jobLockMs: number;
  orgJobConcurrency: number;
}

export const SETTINGS: SettingSpec[] = [
  { key: 'organizationUrl', flag: 'org', env: ['ADO_ORGANIZATION_URL', 'OCEAN__INTEGRATION__CONFIG__ORGANIZATION_URL'], type: 'string', topics: ['ado'], description: 'Organization URL: https://dev.azure.com/{org}, https://{org}.visualstudio.com or https://host/tfs/{collection}' },
  { key: 'personalAccessToken', flag: 'pat', env: ['ADO_PERSONAL_ACCESS_TOKEN', 'AZURE_DEVOPS_PAT', 'OCEAN__INTEGRATION__CONFIG__PERSONAL_ACCESS_TOKEN'], type: 'string', secret: true, topics: ['ado'], description: 'Personal access token (read scopes of the kinds you sync)' },
  { key: 'adoFlavor', flag: 'ado-flavor', env: ['ADO_FLAVOR'], type: 'string', topics: ['ado'], description: 'services | server: how to treat an organization URL on a custom host (default: server)' },
  { key: 'configFile', flag: 'config', env: ['PORT_APP_CONFIG', 'PORT_APP_CONFIG_FILE'], type: 'string', topics: ['mapping'], description: 'port-app-config YAML (default mappings/port-app-config.yml)' },
  { key: 'blueprintsDir', flag: 'blueprints', env: ['BLUEPRINTS_DIR'], type: 'string', topics: ['port'], description: 'Folder of blueprint JSON created in the catalog when missing (default blueprints/)' },
  { key: 'jqPoolSize', flag: 'jq-pool-size', env: ['JQ_POOL_SIZE'], type: 'int', topics: ['mapping'], description: 'jq processes per resource (default: number of cores)' },
  { key: 'pageSize', flag: 'page-size', env: ['ADO_PAGE_SIZE'], type: 'int', topics: ['sync'], description: 'Page size for list endpoints, capped per endpoint (default 1000)' },
  { key: 'orgConcurrency', flag: 'org-concurrency', env: ['ADO_CONCURRENCY'], type: 'int', topics: ['sync'], description: 'Requests in flight per organization (default 8)' },
  { key: 'requestTimeoutMs', flag: 'request-timeout-ms', env: ['ADO_REQUEST_TIMEOUT_MS', 'OCEAN__CLIENT_TIMEOUT_MS'], type: 'int', topics: ['sync'], description: 'Timeout of one Azure DevOps request (default 60000)' },
  { key: 'maxAttempts', flag: 'max-attempts', env: ['ADO_MAX_ATTEMPTS'], type: 'int', topics: ['sync'], description: 'Attempts per Azure DevOps request before it fails (default 6); 429 answers do not count (retried after Retry-After, up to 50)' },
  { key: 'logLevel', flag: 'log-level', env: ['LOG_LEVEL', 'OCEAN__LOG_LEVEL'], type: 'string', topics: ['logging'], description: 'trace | debug | info | warn | error | fatal | silent (default info)' },
  { key: 'logFormat', flag: 'log-format', env: ['LOG_FORMAT'], type: 'string', topics: ['logging'], description: 'pretty (one readable line per event) | json (default: pretty on a terminal, json elsewhere)' },
  { key: 'portClientId', flag: 'port-client-id', env: ['PORT_CLIENT_ID', 'OCEAN__PORT__CLIENT_ID'], type: 'string', secret: true, topics: ['port'], description: 'Port client id' },
  { key: 'portClientSecret', flag: 'port-client-secret', env: ['PORT_CLIENT_SECRET', 'OCEAN__PORT__CLIENT_SECRET'], type: 'string', secret: true, topics: ['port'], description: 'Port client secret' },
  { key: 'portBaseUrl', flag: 'port-base-url', env: ['PORT_BASE_URL', 'OCEAN__PORT__BASE_URL'], type: 'string', topics: ['port'], description: 'Port API: eu (default, https://api.port.io), us (https://api.us.port.io) or a URL' },
  { key: 'integrationIdentifier', flag: 'integration-identifier', env: ['INTEGRATION_IDENTIFIER', 'OCEAN__INTEGRATION__IDENTIFIER'], type: 'string', topics: ['port'], description: 'Identifies this installation; stamps entity ownership (default ado-catalog-sync)' },
  { key: 'adoptOceanIdentifier', flag: 'adopt-ocean-entities', env: ['ADOPT_OCEAN_IDENTIFIER'], type: 'string', topics: ['port'], description: 'Migration from Ocean: entities written by Ocean\'s Azure DevOps integration with this identifier count as owned (stale deletion keeps working; every write re-stamps them as this worker\'s)' },
  { key: 'accountMode', flag: 'account-mode', env: ['ADO_ACCOUNT_MODE', 'OCEAN__INTEGRATION__CONFIG__ACCOUNT_MODE'], type: 'string', topics: ['ado'], description: 'single (one organization URL + PAT, default) or multiple (a list of organization URLs + Entra ID); Ocean\'s "Single Account" / "Multiple Accounts" accepted' },
  { key: 'organizationUrls', flag: 'org-urls', env: ['ADO_ORGANIZATION_URLS', 'OCEAN__INTEGRATION__CONFIG__ORGANIZATION_URLS'], type: 'list', topics: ['ado'], description: 'multiple mode: organization URLs, comma-separated' },
  { key: 'authMethod', flag: 'auth-method', env: ['ADO_AUTH_METHOD'], type: 'string', topics: ['ado'], description: 'pat | client-secret | client-certificate | managed-identity | workload-identity (default: pat in single mode, client-secret in multiple mode)' },
  { key: 'clientId', flag: 'client-id', env: ['ADO_CLIENT_ID', 'OCEAN__INTEGRATION__CONFIG__CLIENT_ID', 'AZURE_CLIENT_ID'], type: 'string', topics: ['ado'], description: 'Entra ID application (client) id of the service principal, or the workload identity\'s client id' },
  { key: 'clientSecret', flag: 'client-secret', env: ['ADO_CLIENT_SECRET', 'OCEAN__INTEGRATION__CONFIG__CLIENT_SECRET', 'AZURE_CLIENT_SECRET'], type: 'string', secret: true, topics: ['ado'], description: 'client-secret auth: the service principal\'s client secret' },
  { key: 'tenantId', flag: 'tenant-id', env: ['ADO_TENANT_ID', 'OCEAN__INTEGRATION__CONFIG__TENANT_ID', 'AZURE_TENANT_ID'], type: 'string', topics: ['ado'], description: 'Entra ID tenant (directory) id' },
  { key: 'clientCertificatePath', flag: 'client-certificate-path', env: ['ADO_CLIENT_CERTIFICATE_PATH', 'AZURE_CLIENT_CERTIFICATE_PATH'], type: 'string', topics: ['ado'], description: 'client-certificate auth: PEM file holding the certificate and its private key' },
  { key: 'clientCertificatePassword', flag: 'client-certificate-password', env: ['ADO_CLIENT_CERTIFICATE_PASSWORD', 'AZURE_CLIENT_CERTIFICATE_PASSWORD'], type: 'string', secret: true, topics: ['ado'], description: 'client-certificate auth: password of an encrypted private key' },
  { key: 'managedIdentityClientId', flag: 'managed-identity-client-id', env: ['ADO_MANAGED_IDENTITY_CLIENT_ID'], type: 'string', topics: ['ado'], description: 'managed-identity auth: client id of a user-assigned identity (default: the system-assigned identity)' },
  { key: 'federatedTokenFile', flag: 'federated-token-file', env: ['AZURE_FEDERATED_TOKEN_FILE'], type: 'string', topics: ['ado'], description: 'workload-identity auth: the projected service account token (set by the AKS workload identity webhook)' },
  { key: 'authorityHost', flag: 'authority-host', env: ['ADO_AUTHORITY_HOST', 'AZURE_AUTHORITY_HOST'], type: 'string', topics: ['ado'], description: 'Entra ID authority (default https://login.microsoftonline.com); an http loopback authority is a test stand-in' },
  { key: 'allowedServerHosts', flag: 'allowed-server-hosts', env: ['ADO_ALLOWED_SERVER_HOSTS'], type: 'list', topics: ['ado'], description: 'multiple mode: Azure DevOps Server hosts allowed besides dev.azure.com and *.visualstudio.com, comma-separated' },
  { key: 'maxConcurrentOrganizations', flag: 'max-concurrent-organizations', env: ['ADO_MAX_CONCURRENT_ORGANIZATIONS'], type: 'int', topics: ['sync'], description: 'Organizations synced at once (default 2)' },
  { key: 'maxConcurrentResources', flag: 'max-concurrent-resources', env: ['ADO_MAX_CONCURRENT_RESOURCES'], type: 'int', topics: ['sync'], description: 'Resources of one organization synced at once when nothing orders them: unique literal blueprints, and relations only with createMissingRelatedEntities (default 1; dry-run always 1)' },
  { key: 'redisUrl', flag: 'redis-url', env: ['REDIS_URL'], type: 'string', topics: ['port', 'cluster'], description: 'Redis for cluster mode and entity state (e.g. redis://127.0.0.1:6379)' },
  { key: 'resyncIntervalMinutes', flag: 'resync-interval-minutes', env: ['RESYNC_INTERVAL_MINUTES', 'OCEAN__SCHEDULED_RESYNC_INTERVAL'], type: 'int', topics: ['cluster'], description: 'serve/worker: full resync every N minutes (job scheduler, created once per cluster)' },
  { key: 'resyncCron', flag: 'resync-cron', env: ['RESYNC_CRON'], type: 'string', topics: ['cluster'], description: 'serve/worker: full resync on this cron pattern (instead of an interval)' },
  { key: 'resyncOnStart', flag: 'resync-on-start', env: ['RESYNC_ON_START'], type: 'bool', topics: ['cluster'], description: 'serve/worker: trigger a full resync at start (coalesced with one already running)' },
  { key: 'serverPort', flag: 'port', env: ['PORT', 'SERVER_PORT'], type: 'int', topics: ['cluster'], description: 'serve: HTTP port (default 8000)' },
  { key: 'serverHost', flag: 'host', env: ['SERVER_HOST'], type: 'string', topics: ['cluster'], description: 'serve: HTTP listen address (default 0.0.0.0)' },
  { key: 'webhookSecret', flag: 'webhook-secret', env: ['WEBHOOK_SECRET', 'OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET'], type: 'string', secret: true, topics: ['cluster', 'webhooks'], description: 'serve: shared secret of the Azure DevOps service hooks (basic-auth password or X-Webhook-Secret header)' },
  { key: 'webhookAuthUsername', flag: 'webhook-auth-username', env: ['WEBHOOK_AUTH_USERNAME', 'OCEAN__INTEGRATION__CONFIG__WEBHOOK_AUTH_USERNAME'], type: 'string', topics: ['cluster', 'webhooks'], description: 'serve: basic-auth user name of the service hooks (default port)' },
  { key: 'appHost', flag: 'app-host', env: ['APP_HOST', 'OCEAN__BASE_URL', 'OCEAN__INTEGRATION__CONFIG__APP_HOST'], type: 'string', topics: ['cluster', 'webhooks'], description: 'serve/webhooks: public base URL of this service; with it, service-hook subscriptions are created and repaired' },
  { key: 'isProjectsLimited', flag: 'projects-limited', env: ['IS_PROJECTS_LIMITED', 'OCEAN__INTEGRATION__CONFIG__IS_PROJECTS_LIMITED'], type: 'bool', topics: ['webhooks'], description: 'webhooks: one subscription per project and event (true, default) or per organization (false)' },
  { key: 'adminToken', flag: 'admin-token', env: ['ADMIN_TOKEN'], type: 'string', secret: true, topics: ['cluster'], description: 'serve: bearer token for POST /admin/resync (the endpoint is off without it)' },
  { key: 'metricsToken', flag: 'metrics-token', env: ['METRICS_TOKEN'], type: 'string', secret: true, topics: ['cluster'], description: 'serve: bearer token GET /metrics requires (without it /metrics is open to anyone who reaches the port)' },
  { key: 'shutdownGraceMs', flag: 'shutdown-grace-ms', env: ['SHUTDOWN_GRACE_MS'], type: 'int', topics: ['cluster'], description: 'serve/worker: time given to running jobs on SIGTERM before they are handed back (default 25000)' },
  { key: 'workerConcurrency', flag: 'worker-concurrency', env: ['WORKER_CONCURRENCY'], type: 'int', topics: ['cluster'], description: 'serve/worker: jobs one replica runs at once (default 2)' },
  { key: 'jobAttempts', flag: 'job-attempts', env: ['JOB_ATTEMPTS'], type: 'int', topics: ['cluster'], description: 'serve/worker: attempts of a failed job (exponential backoff) before it stays in the failed set (default 3)' },
  { key: 'jobLockMs', flag: 'job-lock-ms', env: ['JOB_LOCK_MS'], type: 'int', topics: ['cluster'], description: 'serve/worker: job lock; a crashed replica\'s jobs are retried after it lapses (default 30000)' },
  { key: 'orgJobConcurrency', flag: 'org-job-concurrency', env: ['ORG_JOB_CONCURRENCY'], type: 'int', topics: ['cluster'], description: 'serve/worker: resource jobs of one organization running at once across the cluster (default 2)' },
];

const DEFAULTS: Settings = {
  configFile: 'mappings/port-app-config.yml',
  blueprintsDir: 'blueprints',
  jqPoolSize: Math.max(1, cpus().length),
  pageSize: 1000,
  orgConcurrency: 8,
  requestTimeoutMs: 60_000,
  maxAttempts: 6,
  logLevel: 'info',
  portBaseUrl: 'eu',
  integrationIdentifier: 'ado-catalog-sync',
  maxConcurrentOrganizations: 2,
  maxConcurrentResources: 1,
  serverPort: 8000,
  serverHost: '0.0.0.0',
  shutdownGraceMs: 25_000,
  webhookAuthUsername: 'port',
  isProjectsLimited: true,
  workerConcurrency: 2,
  jobAttempts: 3,
  jobLockMs: 30_000,
  orgJobConcurrency: 2,
};

/** Settings from flags (highest), then environment variables, then defaults. */
export function loadSettings(flags: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv = process.env): Settings {
  const out: Record<string, unknown> = { ...DEFAULTS };
  for (const spec of SETTINGS) {
    let raw: string | boolean | undefined = flags[spec.flag];
    let source = `--${spec.flag}`;
    if (raw === undefined) {
      const name = spec.env.find((n) => env[n] !== undefined && env[n] !== '');
      if (name) {
        raw = env[name];
        source = name;
      }
    }
    if (raw === undefined) continue;
    out[spec.key] = parseValue(spec, raw, source);
  }
  const s = out as unknown as Settings;
  if (s.adoFlavor !== undefined && s.adoFlavor !== 'services' && s.adoFlavor !== 'server') {
    throw new UserInputError(`ADO_FLAVOR / --ado-flavor must be "services" or "server", not "${s.adoFlavor}"`);
  }
  assertLogLevel(s.logLevel, sourceOf('logLevel', flags, env));
  if (s.logFormat !== undefined) assertLogFormat(s.logFormat, sourceOf('logFormat', flags, env));
  for (const key of ['jqPoolSize', 'pageSize', 'orgConcurrency', 'requestTimeoutMs', 'maxAttempts', 'maxConcurrentOrganizations', 'maxConcurrentResources'] as const) {
    if (!(s[key] >= 1)) throw new UserInputError(`${key} must be at least 1`);
  }
  return s;
}

/** Where a setting's value came from: its flag, else the environment variable that set it. */
function sourceOf(key: keyof Settings, flags: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv): string {
  const spec = SETTINGS.find((s) => s.key === key)!;
  if (flags[spec.flag] !== undefined) return `--${spec.flag}`;
  return spec.env.find((n) => env[n] !== undefined && env[n] !== '') ?? `--${spec.flag}`;
}

function parseValue(spec: SettingSpec, raw: string | boolean, source: string): unknown {
  const text = String(raw).trim();
  switch (spec.type) {
    case 'int': {
      const n = Number(text);
      if (!Number.isInteger(n)) throw new UserInputError(`${source} must be a whole number, got "${text}"`);
      return n;
    }
    case 'number': {
      const n = Number(text);
      if (!Number.isFinite(n)) throw new UserInputError(`${source} must be a number, got "${text}"`);
      return n;
    }
    case 'bool':
      if (/^(true|1|yes)$/i.test(text)) return true;
      if (/^(false|0|no)$/i.test(text)) return false;
      throw new UserInputError(`${source} must be true or false, got "${text}"`);
    case 'list':
      return text.split(',').map((s) => s.trim()).filter(Boolean);
    default:
      return text;
  }
}

/** Values of secret settings, to scrub from any output. */
export function secretValues(s: Settings): string[] {
  return SETTINGS.filter((spec) => spec.secret).map((spec) => s[spec.key]).filter((v): v is string => typeof v === 'string');
}
