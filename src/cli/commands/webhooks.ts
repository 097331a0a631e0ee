import { loadAppConfig } from '../../config/appConfig.js';
import { loadSettings, secretValues, type Settings } from '../../config/settings.js';
import { requiredSubscriptions } from '../../serviceHooks/desired.js';
import { listOwnSubscriptions, removeSubscriptions } from '../../serviceHooks/installed.js';
import { reconcileSubscriptions } from '../../serviceHooks/reconcile.js';
import { webhookUrl } from '../../serviceHooks/subscription.js';
import type { EventPublisher, EventSubscription } from '../../kinds/types.js';
import { buildTargets } from '../../sync/targets.js';
import { errorMessage, scrubSecrets, UserInputError } from '../../util/errors.js';
import { commandLogger } from '../../observability/log.js';
import { parseCommandArgs } from '../args.js';

const ACTIONS = ['sync', 'list', 'remove'] as const;
type Action = (typeof ACTIONS)[number];
const PUBLISHERS: EventPublisher[] = ['tfs', 'pipelines', 'rm', 'advsec'];

/** `tfs/git.push,rm/ms.vss-release.deployment-completed-event` → subscriptions. */
export function parseEvents(raw: string): EventSubscription[] {
  const out: EventSubscription[] = [];
  for (const item of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const slash = item.indexOf('/');
    const publisherId = item.slice(0, slash).trim().toLowerCase() as EventPublisher;
    const eventType = item.slice(slash + 1).trim();
    if (slash < 1 || !eventType || !PUBLISHERS.includes(publisherId)) {
      throw new UserInputError(`--events: "${item}" is not publisher/eventType with publisher one of ${PUBLISHERS.join(', ')} (e.g. tfs/git.push)`);
    }
    if (!out.some((e) => e.publisherId === publisherId && e.eventType === eventType)) out.push({ publisherId, eventType });
  }
  if (out.length === 0) throw new UserInputError('--events is empty');
  return out;
}

function eventsFor(settings: Settings, flags: Record<string, string | boolean | undefined>): EventSubscription[] {
  if (typeof flags.events === 'string') return parseEvents(flags.events);
  return requiredSubscriptions(loadAppConfig(settings.configFile).config);
}

export async function webhooksCommand(argv: string[]): Promise<number> {
  const { flags, positionals } = parseCommandArgs(argv, 'webhooks');
  const action = positionals[0] as Action | undefined;
  if (!action || !ACTIONS.includes(action) || positionals.length > 1) {
    throw new UserInputError(`usage: ado-sync webhooks sync|list|remove [flags] (ado-sync webhooks --help)`);
  }
  const settings = loadSettings(flags);
  if (action === 'sync' && !settings.appHost) {
    throw new UserInputError('webhooks sync needs the public URL of the server the subscriptions deliver to: set APP_HOST (or OCEAN__BASE_URL) or pass --app-host https://host');
  }
  if (settings.appHost) {
    let u: URL | undefined;
    try {
      u = new URL(webhookUrl(settings.appHost));
    } catch {
      u = undefined;
    }
    if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:')) throw new UserInputError(`appHost (APP_HOST / --app-host) "${settings.appHost}" is not an http(s) URL`);
  }
  const log = commandLogger(settings);
  const events = action === 'sync' ? eventsFor(settings, flags) : [];
  const publishers = typeof flags.events === 'string' ? [...new Set(parseEvents(flags.events).map((e) => e.publisherId))] : undefined;
  const targets = buildTargets(settings, log);
  const secrets = secretValues(settings);
  const print = (line: string) => process.stdout.write(scrubSecrets(line, secrets) + '\n');
  const json: unknown[] = [];
  let failed = false;

  if (action === 'sync' && events.length === 0) {
    process.stderr.write('note: no configured kind needs service-hook events (and no --events): nothing to subscribe to\n');
  }
  for (const t of targets) {
    const org = t.client.org.name;
    try {
      if (action === 'sync') {
        const r = await reconcileSubscriptions({ client: t.client, settings, events, log, pageSize: settings.pageSize });
        if (r.failed > 0) failed = true;
        json.push(r);
        if (flags.json !== true) {
          print(`${org}: desired ${r.desired}, created ${r.created}, kept ${r.kept}, repaired ${r.repaired}, removed ${r.removed}, failed ${r.failed}`);
          for (const e of r.errors) print(`  error: ${e}`);
        }
      } else if (action === 'list') {
        const { subscriptions: subs, errors } = await listOwnSubscriptions({ client: t.client, settings, log, publishers });
        if (errors.length > 0) failed = true;
        json.push({ organization: org, subscriptions: subs, errors });
        if (flags.json !== true) {
          print(`${org}: ${subs.length} subscription(s)`);
          for (const e of errors) print(`  error: ${e}`);
          for (const s of subs) {
            print(`  ${s.id} ${s.publisherId}/${s.eventType} ${s.projectId ? `project ${s.projectId}` : 'organization'} ${s.status} → ${s.url ?? ''}${s.ownership === 'adoptable' ? ' (no instance marker)' : ''}`);
          }
        }
      } else {
        const r = await removeSubscriptions({ client: t.client, settings, log, publishers });
        if (r.failed > 0) failed = true;
        json.push(r);
        if (flags.json !== true) {
          print(`${org}: removed ${r.removed}, failed ${r.failed}`);
          for (const e of r.errors) print(`  error: ${e}`);
        }
      }
    } catch (err) {
      failed = true;
      const message = scrubSecrets(errorMessage(err), secrets);
      json.push({ organization: org, error: message });
      if (flags.json !== true) print(`${org}: failed`);
      process.stderr.write(`error: ${message}\n`);
    }
  }
  if (flags.json === true) print(JSON.stringify(json, null, 2));
  return failed ? 1 : 0;
}
