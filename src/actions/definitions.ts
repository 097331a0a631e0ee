/**
 * The shipped Port definitions of the actions (`port-resources/actions/*.json`, one file per action identifier): each
 * a self-service action whose webhook invocation goes to `{appHost}/actions/port` (the `{appHost}` in a file's URL is
 * replaced; a URL without it is kept as written). `ado-sync actions install` creates the missing ones in Port and
 * updates (PUT) the others.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PortAction } from '../catalog/port/actionApi.js';
import { PACKAGE_JSON } from '../util/version.js';
import { UserInputError } from '../util/errors.js';

export const APP_HOST_PLACEHOLDER = '{appHost}';

/** The shipped definitions, beside the package's package.json (the repository, the npm package, the image). */
export function shippedDefinitionsDir(): string {
  return join(PACKAGE_JSON ? dirname(PACKAGE_JSON) : process.cwd(), 'port-resources', 'actions');
}

export interface DefinitionFile {
  file: string;
  action: PortAction;
}

/** Every `*.json` of the folder, in name order; each must be an object with an identifier (errors name the file). */
export function loadDefinitions(dir: string): DefinitionFile[] {
  if (!existsSync(dir)) throw new UserInputError(`no action definitions: the folder ${dir} does not exist`);
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  if (files.length === 0) throw new UserInputError(`no action definitions: ${dir} has no .json file`);
  return files.map((name) => {
    const file = join(dir, name);
    let action: unknown;
    try {
      action = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new UserInputError(`${file}: not valid JSON (${(err as Error).message})`);
    }
    if (!action || typeof action !== 'object' || Array.isArray(action) || typeof (action as PortAction).identifier !== 'string') {
      throw new UserInputError(`${file}: an action definition is a JSON object with an "identifier"`);
    }
    return { file, action: action as PortAction };
  });
}

/** The definition as Port gets it: the webhook URL on this installation's public address. */
export function withAppHost(action: PortAction, appHost: string): PortAction {
  const out = structuredClone(action);
  const im = out.invocationMethod as { url?: unknown } | undefined;
  if (im && typeof im.url === 'string') im.url = im.url.split(APP_HOST_PLACEHOLDER).join(appHost.replace(/\/+$/, ''));
  return out;
}

/** The part of the Port client the install uses. */
export interface ActionDefinitionsApi {
  getAction(identifier: string): Promise<PortAction | undefined>;
  createAction(action: PortAction): Promise<PortAction>;
  updateAction(action: PortAction): Promise<PortAction>;
}

export interface InstallResult {
  identifier: string;
  result: 'created' | 'updated';
}

/** Creates the definitions Port does not have and replaces the others, one after the other. */
export async function installDefinitions(api: ActionDefinitionsApi, definitions: PortAction[]): Promise<InstallResult[]> {
  const out: InstallResult[] = [];
  for (const action of definitions) {
    const existing = await api.getAction(action.identifier);
    if (existing) await api.updateAction(action);
    else await api.createAction(action);
    out.push({ identifier: action.identifier, result: existing ? 'updated' : 'created' });
  }
  return out;
}
