import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../observability/log.js';
import { silentLogger } from '../../observability/log.js';
import { errorMessage, UserInputError } from '../../util/errors.js';
import { PortApiError } from './errors.js';
import type { PortBlueprint } from './blueprintApi.js';
import type { PortClient } from './client.js';

export interface BlueprintFile {
  file: string;
  blueprint: PortBlueprint;
}

/** Keys that may reference other blueprints (or their relations): left out of the first, "bare" creation. */
const RELATION_KEYS = ['relations', 'ownership', 'teamInheritance'] as const;
const DERIVED_KEYS = ['mirrorProperties', 'calculationProperties', 'aggregationProperties'] as const;

/** Reads `dir/*.json` (sorted by name); each file holds one blueprint or an array of them. */
export async function loadBlueprintFiles(dir: string): Promise<BlueprintFile[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  } catch (err) {
    throw new UserInputError(`cannot read the blueprints folder ${dir}: ${errorMessage(err)}`);
  }
  const out: BlueprintFile[] = [];
  const seen = new Map<string, string>();
  for (const name of names) {
    const file = join(dir, name);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      throw new UserInputError(`${file}: not valid JSON: ${errorMessage(err)}`);
    }
    const list = Array.isArray(parsed) ? parsed : [parsed];
    list.forEach((bp, i) => {
      const where = Array.isArray(parsed) ? `${file}[${i}]` : file;
      if (typeof bp !== 'object' || bp === null || typeof (bp as PortBlueprint).identifier !== 'string') {
        throw new UserInputError(`${where}: a blueprint needs a string "identifier"`);
      }
      const b = bp as PortBlueprint;
      if (typeof b.title !== 'string' || typeof b.schema !== 'object' || b.schema === null) {
        throw new UserInputError(`${where}: blueprint "${b.identifier}" needs "title" and "schema"`);
      }
      const dup = seen.get(b.identifier);
      if (dup) throw new UserInputError(`${where}: blueprint "${b.identifier}" is also defined in ${dup}`);
      seen.set(b.identifier, where);
      out.push({ file: where, blueprint: b });
    });
  }
  return out;
}

export interface BootstrapResult {
  created: string[];
  kept: string[];
}

function pick(bp: PortBlueprint, keys: readonly string[]): Partial<PortBlueprint> {
  const out: Partial<PortBlueprint> = {};
  for (const k of keys) if (bp[k] !== undefined) out[k] = bp[k];
  return out;
}

function omit(bp: PortBlueprint, keys: readonly string[]): PortBlueprint {
  const out = { ...bp };
  for (const k of keys) delete out[k];
  return out;
}

/**
 * Creates the blueprints of `dir` that do not exist in Port; an existing blueprint is never touched (the user may
 * have changed it), only logged as kept. Creation happens in stages so the order of the files does not matter:
 * every missing blueprint bare first, then relations and ownership, then mirror/calculation/aggregation properties
 * (which may go through those relations). If a stage fails, the blueprints created by this call are deleted again,
 * so a later run does not find (and keep) a half-made blueprint.
 */
export async function bootstrapBlueprints(client: PortClient, dir: string, log: Logger = silentLogger): Promise<BootstrapResult> {
  const files = await loadBlueprintFiles(dir);
  const missing: BlueprintFile[] = [];
  const kept: string[] = [];
  for (const f of files) {
    if (await client.getBlueprint(f.blueprint.identifier)) {
      kept.push(f.blueprint.identifier);
      log.info({ blueprint: f.blueprint.identifier, file: f.file }, 'blueprint already exists in Port; kept as is (never overwritten)');
    } else {
      missing.push(f);
    }
  }
  const created: string[] = [];
  const stage = async (what: string, fn: (f: BlueprintFile) => Promise<unknown>) => {
    for (const f of missing) {
      try {
        await fn(f);
      } catch (err) {
        await rollback(client, created, log);
        throw new Error(`creating blueprint "${f.blueprint.identifier}" from ${f.file} failed (${what}): ${errorMessage(err)}`);
      }
    }
  };
  await stage('bare blueprint', async (f) => {
    try {
      await client.createBlueprint(omit(f.blueprint, [...RELATION_KEYS, ...DERIVED_KEYS]));
    } catch (err) {
      // 409: it appeared since we looked (another replica bootstrapping the same folder, or our own retried POST
      // that had in fact succeeded). Either way it holds this folder's content, so finishing its stages is safe.
      if (!(err instanceof PortApiError && err.status === 409)) throw err;
    }
    created.push(f.blueprint.identifier);
  });
  await stage('relations', async (f) => {
    const patch = pick(f.blueprint, RELATION_KEYS);
    if (Object.keys(patch).length > 0) await client.patchBlueprint(f.blueprint.identifier, patch);
  });
  await stage('mirror/calculation/aggregation properties', async (f) => {
    const patch = pick(f.blueprint, DERIVED_KEYS);
    if (Object.keys(patch).length > 0) await client.patchBlueprint(f.blueprint.identifier, patch);
  });
  for (const id of created) log.info({ blueprint: id }, 'blueprint created in Port');
  return { created, kept };
}

async function rollback(client: PortClient, created: string[], log: Logger): Promise<void> {
  // Relations first, so the blueprints can be deleted in any order.
  for (const id of created) {
    try {
      await client.patchBlueprint(id, { relations: {} });
    } catch {
      /* best effort */
    }
  }
  for (const id of [...created].reverse()) {
    try {
      await client.deleteBlueprint(id);
      log.warn({ blueprint: id }, 'blueprint bootstrap failed; removed the blueprint it had created');
    } catch (err) {
      log.error({ blueprint: id, err: errorMessage(err) }, 'blueprint bootstrap failed and the blueprint could not be removed');
    }
  }
  created.length = 0;
}
