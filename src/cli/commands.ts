/**
 * The commands, declared once as data: synopsis, what they do, their own flags and the settings they read. Help and
 * flag parsing read them from here; this module imports no command (main.ts loads a command's module only when it
 * runs, so `--help`, `validate` and `map` do not load BullMQ, fastify or @azure/identity).
 */
import type { ParseArgsConfig } from 'node:util';
import type { SettingTopic } from '../config/settings.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface FlagSpec {
  type: 'string' | 'boolean';
  /** The value's placeholder in help (`FILE`, `a,b`). */
  value?: string;
  description: string;
}

export type CommandName = 'dry-run' | 'resync' | 'map' | 'validate' | 'serve' | 'worker' | 'status' | 'webhooks' | 'actions';

export interface CommandSpec {
  name: CommandName;
  /** Arguments after the command name, for the one-line usage. */
  synopsis: string;
  summary: string;
  flags: Record<string, FlagSpec>;
  /** Settings this command reads: whole topics, plus single ones by flag. */
  settings: { topics: SettingTopic[]; flags?: string[] };
}

const KINDS: FlagSpec = { type: 'string', value: 'a,b', description: 'only the resources of these kinds (a partial run deletes nothing)' };
const PRETTY: FlagSpec = { type: 'boolean', description: 'indented entities instead of one JSON line each' };
const SYNC_TOPICS: SettingTopic[] = ['ado', 'mapping', 'sync', 'logging'];
const CLUSTER_FLAGS: Record<string, FlagSpec> = {
  'resync-on-start': { type: 'boolean', description: 'trigger a full resync at start (joins one already running)' },
  'skip-blueprints': { type: 'boolean', description: 'do not create missing blueprints' },
};

export const COMMANDS: CommandSpec[] = [
  {
    name: 'dry-run',
    synopsis: '[--config FILE] [--org URL] [--kinds a,b] [--pretty]',
    summary: 'fetch and map, print entities (NDJSON on stdout, progress and summary on stderr); writes nothing',
    flags: { kinds: KINDS, pretty: PRETTY },
    settings: { topics: SYNC_TOPICS },
  },
  {
    name: 'resync',
    synopsis: '[--config FILE] [--org URL] [--kinds a,b] [--skip-blueprints] [--incremental]',
    summary: 'one full sync to Port, then stale-entity deletion; --incremental: only what changed since the last run',
    flags: {
      kinds: KINDS,
      'skip-blueprints': CLUSTER_FLAGS['skip-blueprints']!,
      incremental: {
        type: 'boolean',
        description: 'read only what changed since each resource\'s last completed pass (change cursors in Redis: needs REDIS_URL); deletes nothing',
      },
    },
    settings: { topics: [...SYNC_TOPICS, 'port'] },
  },
  {
    name: 'map',
    synopsis: '--kind KIND [--config FILE] [--input FILE|-] [--org URL] [--pretty]',
    summary: 'map saved payloads offline (one JSON object or array per line) with every resource of that kind',
    flags: {
      kind: { type: 'string', value: 'KIND', description: 'the kind of the payloads; every resource of that kind maps them' },
      input: { type: 'string', value: 'FILE|-', description: 'NDJSON payloads (default -, stdin)' },
      pretty: PRETTY,
    },
    settings: { topics: ['mapping', 'logging'], flags: ['org', 'ado-flavor'] },
  },
  {
    name: 'validate',
    synopsis: '[--config FILE] | --spec FILE',
    summary: 'check a port-app-config: YAML, schema, kinds, selector options, jq expressions; or a GitOps port.yml (--spec)',
    flags: {
      spec: {
        type: 'string',
        value: 'FILE',
        description:
          "check this GitOps spec file (port.yml) instead, offline: prints its entities, or FILE:LINE per problem (exit 2); its file:// references are read from the disk, with FILE's folder taken as the repository root",
      },
    },
    settings: { topics: ['logging'], flags: ['config'] },
  },
  {
    name: 'serve',
    synopsis: '[--port N] [--resync-on-start] [--resync-interval-minutes N | --resync-cron EXPR] [--resync-incremental-minutes N]',
    summary: 'HTTP server (webhooks, Port action runs, health, metrics, admin) plus workers; needs REDIS_URL',
    flags: CLUSTER_FLAGS,
    settings: { topics: [...SYNC_TOPICS, 'port', 'cluster', 'webhooks', 'actions'] },
  },
  {
    name: 'worker',
    synopsis: '[--resync-on-start] [--resync-interval-minutes N | --resync-cron EXPR] [--resync-incremental-minutes N]',
    summary: 'workers only (resync jobs, webhook events, action runs); needs REDIS_URL',
    flags: CLUSTER_FLAGS,
    settings: { topics: [...SYNC_TOPICS, 'port', 'cluster', 'actions'] },
  },
  {
    name: 'status',
    synopsis: '[--json]',
    summary: 'last resync (mode, start, end, status, counts), schedules, job counts and change cursors from Redis',
    flags: { json: { type: 'boolean', description: 'print JSON' } },
    settings: { topics: ['logging'], flags: ['redis-url', 'integration-identifier'] },
  },
  {
    name: 'webhooks',
    synopsis: 'sync|list|remove [--org URL] [--app-host URL] [--events publisher/eventType,...] [--json]',
    summary: "create and repair, list, or remove this installation's service-hook subscriptions",
    flags: {
      events: { type: 'string', value: 'p/e,...', description: 'these publisher/eventType pairs instead of what the config needs (e.g. tfs/git.push)' },
      json: { type: 'boolean', description: 'print JSON' },
    },
    settings: { topics: ['ado', 'webhooks', 'logging'], flags: ['config', 'integration-identifier'] },
  },
  {
    name: 'actions',
    synopsis: 'install [--app-host URL] [--definitions DIR] | run ACTION --input FILE|- [--apply]',
    summary: "create or update the shipped self-service actions in Port; run one action locally (a dry-run unless --apply)",
    flags: {
      input: { type: 'string', value: 'FILE|-', description: 'run: the inputs, a JSON object (or a whole invocation body as Port sends it); - reads stdin' },
      apply: { type: 'boolean', description: 'run: change Azure DevOps (default: a dry-run that says what would change)' },
      definitions: { type: 'string', value: 'DIR', description: 'install: folder of action definitions (default: the shipped port-resources/actions)' },
      'skip-blueprints': { type: 'boolean', description: 'install: do not create the missing blueprints the actions sit on' },
    },
    settings: { topics: ['ado', 'port', 'actions', 'logging'], flags: ['app-host', 'config'] },
  },
];

export function command(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** A command's own flags, as node:util parseArgs takes them. */
export function flagOptions(name: string): Options {
  const spec = command(name);
  if (!spec) throw new Error(`no command ${name}`);
  return Object.fromEntries(Object.entries(spec.flags).map(([flag, f]) => [flag, { type: f.type }]));
}
