import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { loadDefinitions, installDefinitions, shippedDefinitionsDir, withAppHost } from '../../actions/definitions.js';
import { ActionExecutor } from '../../actions/executor.js';
import { StreamRunReporter } from '../../actions/report.js';
import { createActionToolkit } from '../../actions/toolkit.js';
import type { ActionInvocation } from '../../actions/types.js';
import { bootstrapBlueprints, PortClient } from '../../catalog/port/index.js';
import { loadAppConfig } from '../../config/appConfig.js';
import { howToSet, loadSettings, secretValues, type Settings } from '../../config/settings.js';
import { commandLogger } from '../../observability/log.js';
import { buildTargets } from '../../sync/targets.js';
import { errorMessage, scrubSecrets, UserInputError } from '../../util/errors.js';
import { didYouMean } from '../../util/suggest.js';
import { VERSION } from '../../util/version.js';
import { parseCommandArgs } from '../args.js';

type Flags = Record<string, string | boolean | undefined>;
const USAGE = 'usage: ado-sync actions install [--definitions DIR] | ado-sync actions run ACTION --input FILE|- [--apply] (ado-sync actions --help)';

export async function actionsCommand(argv: string[]): Promise<number> {
  const { flags, positionals } = parseCommandArgs(argv, 'actions');
  const [verb, ...rest] = positionals;
  if (verb === 'install' && rest.length === 0) return install(flags);
  if (verb === 'run' && rest.length === 1) return run(rest[0]!, flags);
  throw new UserInputError(USAGE);
}

function portClient(settings: Settings, what: string): PortClient {
  if (!settings.portClientId || !settings.portClientSecret) {
    throw new UserInputError(`${what} needs Port credentials: ${howToSet('portClientId')}, and ${howToSet('portClientSecret')}`);
  }
  return new PortClient(
    { clientId: settings.portClientId, clientSecret: settings.portClientSecret, baseUrl: settings.portBaseUrl, integrationIdentifier: settings.integrationIdentifier, version: VERSION },
    {},
    commandLogger(settings).child({ component: 'port' }),
  );
}

/** `actions install`: the shipped definitions created or updated in Port, each webhook pointing at `{appHost}/actions/port`. */
async function install(flags: Flags): Promise<number> {
  const settings = loadSettings(flags);
  if (!settings.appHost) {
    throw new UserInputError(`actions install needs the public URL Port sends the runs to ({appHost}/actions/port): ${howToSet('appHost')} (e.g. https://ado-sync.example.com)`);
  }
  let host: URL | undefined;
  try {
    host = new URL(settings.appHost);
  } catch {
    host = undefined;
  }
  if (!host || (host.protocol !== 'https:' && host.protocol !== 'http:')) throw new UserInputError(`appHost (APP_HOST / --app-host) "${settings.appHost}" is not an http(s) URL`);
  const dir = typeof flags.definitions === 'string' ? flags.definitions : shippedDefinitionsDir();
  const definitions = loadDefinitions(dir).map((d) => withAppHost(d.action, settings.appHost!));
  const client = portClient(settings, 'actions install');
  const secrets = secretValues(settings);
  try {
    // The actions sit on the default blueprints (a group, a user, a pipeline): Port refuses an action on a missing one.
    if (flags['skip-blueprints'] !== true) await bootstrapBlueprints(client, settings.blueprintsDir, commandLogger(settings));
    for (const r of await installDefinitions(client, definitions)) process.stdout.write(`${r.result} ${r.identifier}\n`);
  } catch (err) {
    process.stderr.write(`error: ${scrubSecrets(errorMessage(err), secrets)}\n`);
    return 1;
  }
  const off = definitions.map((d) => d.identifier).filter((id) => !settings.actionsEnabled.includes(id));
  if (off.length > 0) {
    process.stderr.write(`note: ACTIONS_ENABLED does not list ${off.join(', ')}: their runs end FAILURE ("not enabled") until the installation enables them\n`);
  }
  return 0;
}

/** The `--input` file: an inputs object, or a whole invocation body as Port sends it (with `port_context`). */
function readInvocation(action: string, file: string): ActionInvocation {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new UserInputError(`--input: cannot read ${file}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UserInputError(`--input ${file}: not valid JSON (${(err as Error).message})`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new UserInputError(`--input ${file}: expected a JSON object of inputs`);
  const obj = value as Record<string, unknown>;
  const local = { runId: `local-${Date.now()}` };
  const trigger = { by: { user: { email: `local:${userInfo().username}` } }, origin: 'CLI' };
  if ('port_context' in obj) return { ...(obj as ActionInvocation), action, port_context: { ...(obj.port_context as object), ...local }, trigger };
  return { action, port_context: local, inputs: obj, entity: null, trigger };
}

/** `actions run`: one action through the executor the worker uses, reported on stderr; a dry-run unless `--apply`. */
async function run(action: string, flags: Flags): Promise<number> {
  if (typeof flags.input !== 'string') throw new UserInputError(`actions run needs --input FILE (a JSON object of the action's inputs, or - for stdin); ${USAGE}`);
  const settings = loadSettings(flags);
  const apply = flags.apply === true;
  const invocation = readInvocation(action, flags.input);
  const log = commandLogger(settings).child({ mode: 'actions run' });
  const targets = buildTargets(settings, log);
  // With --apply the catalog is refreshed after the change when Port credentials are set; a dry-run writes nothing.
  const refresh = apply && settings.portClientId !== undefined && settings.portClientSecret !== undefined;
  const toolkit = createActionToolkit({ settings, config: refresh ? loadAppConfig(settings.configFile).config : undefined, log, targets });
  const known = toolkit.actions.map((a) => a.identifier);
  if (!known.includes(action)) {
    await toolkit.close?.();
    throw new UserInputError(`unknown action "${action}"${didYouMean(action, known)}; the actions are: ${known.join(', ')}`);
  }
  const secrets = secretValues(settings);
  // Naming the action here is the opt-in: ACTIONS_ENABLED is the server's list (ACTIONS_ALLOW_DEPROVISION still applies).
  const executor = new ActionExecutor({ toolkit, targets, enabled: [action], allowDeprovision: settings.actionsAllowDeprovision, secrets, log });
  const reporter = new StreamRunReporter((line) => process.stderr.write(`${line}\n`), secrets);
  process.stderr.write(`${action}: ${apply ? 'applying the change' : 'dry-run, nothing is changed (--apply to change Azure DevOps)'}${apply && !refresh ? '; the catalog is not refreshed (no Port credentials)' : ''}\n`);
  try {
    const outcome = await executor.execute(invocation, reporter, { apply });
    await reporter.finish(outcome);
    return outcome.status === 'SUCCESS' ? 0 : 1;
  } finally {
    await toolkit.close?.();
  }
}
