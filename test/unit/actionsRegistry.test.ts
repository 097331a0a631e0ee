/**
 * The shipped actions as declared: unique identifiers, input schemas ajv compiles in strict mode, every input described
 * and unknown inputs refused, bad inputs rejected before any action runs, and a README row for each (inputs and the
 * PAT scope it needs). The catalog refresh and the Graph client fit the contract of src/actions/types.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { ACTIONS } from '../../src/actions/registry.js';
import type { CatalogRefresh, MicrosoftGraphApi } from '../../src/actions/types.js';
import type { MicrosoftGraphClient } from '../../src/msgraph/client.js';
import type { CatalogRefresher } from '../../src/sync/catalogRefresh.js';
import { ROOT } from '../helpers/cli.js';

// Compile-time: the sync and msgraph floors cannot name the actions' contract, so it is checked here.
export const fits: [(r: CatalogRefresher) => CatalogRefresh, (g: MicrosoftGraphClient) => MicrosoftGraphApi] = [(r) => r, (g) => g];

const ajv = new Ajv({ strict: true, allowUnionTypes: true, allErrors: true });

/** Every object schema under `schema`, with its path. */
function objects(schema: Record<string, unknown>, path = ''): Array<{ path: string; schema: Record<string, unknown> }> {
  const out: Array<{ path: string; schema: Record<string, unknown> }> = [];
  if (schema.type === 'object' && schema.properties) out.push({ path: path || '(inputs)', schema });
  for (const [name, sub] of Object.entries((schema.properties ?? {}) as Record<string, Record<string, unknown>>)) out.push(...objects(sub, `${path}${path ? '.' : ''}${name}`));
  if (schema.items && typeof schema.items === 'object') out.push(...objects(schema.items as Record<string, unknown>, `${path}[]`));
  return out;
}

const BAD_INPUTS: Record<string, Array<Record<string, unknown>>> = {
  ado_add_group_member: [{ user: 'a@b.c' }, { group: 'g', user: 'a@b.c', extra: 1 }, { group: '', user: 'a@b.c' }],
  ado_remove_group_member: [{ group: 'g' }, { group: 'g', user: 7 }],
  ado_add_user: [{ user: 'a@b.c' }, { user: 'a@b.c', accessLevel: 'basic' }, { user: 'a@b.c', accessLevel: 'express', projectGroups: [{ project: 'p', groupType: 'owners' }] }],
  ado_change_access_level: [{ user: 'a@b.c', accessLevel: 'gold' }, { accessLevel: 'express' }],
  ado_remove_user: [{}, { user: 'a@b.c', force: true }],
  ado_run_pipeline: [{ project: 'p' }, { project: 'p', pipeline: 0 }, { project: 'p', pipeline: 'ci', variables: { a: 1 } }, { project: 'p', pipeline: 'ci', templateParameters: { a: { nested: true } } }],
};

const GOOD_INPUTS: Record<string, Record<string, unknown>> = {
  ado_add_group_member: { group: '[P]\\Readers', user: 'a@b.c' },
  ado_remove_group_member: { group: 'Readers', project: 'P', user: 'aad.abc' },
  ado_add_user: { user: 'a@b.c', accessLevel: 'express', projectGroups: [{ project: 'P', groupType: 'projectContributor' }] },
  ado_change_access_level: { user: 'a@b.c', accessLevel: 'stakeholder' },
  ado_remove_user: { user: 'a@b.c' },
  ado_run_pipeline: { project: 'P', pipeline: 12, branch: 'main', templateParameters: { env: 'dev', n: 2, on: true }, variables: { v: 'x' } },
};

describe('shipped actions', () => {
  it('have unique identifiers, a title and the permissions they need', () => {
    const ids = ACTIONS.map((a) => a.identifier);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(Object.keys(GOOD_INPUTS).sort());
    for (const a of ACTIONS) {
      expect([a.identifier, a.title.length > 0, a.permissions.length > 0]).toEqual([a.identifier, true, true]);
    }
  });

  it.each(ACTIONS.map((a) => [a.identifier, a] as const))('%s: its input schema compiles strictly, describes every input and refuses unknown ones', (_id, a) => {
    expect(() => ajv.compile(a.inputSchema)).not.toThrow();
    for (const { path, schema } of objects(a.inputSchema as Record<string, unknown>)) {
      expect([path, schema.additionalProperties]).toEqual([path, false]);
      for (const [name, p] of Object.entries(schema.properties as Record<string, Record<string, unknown>>)) {
        expect([path, name, typeof p.description === 'string' && p.description.length > 10]).toEqual([path, name, true]);
      }
      for (const r of (schema.required ?? []) as string[]) expect([path, r, r in (schema.properties as object)]).toEqual([path, r, true]);
    }
  });

  it.each(ACTIONS.map((a) => [a.identifier, a] as const))('%s: accepts good inputs and rejects bad ones before running', (id, a) => {
    const validate = ajv.compile(a.inputSchema);
    expect([id, validate(GOOD_INPUTS[id]), validate.errors]).toEqual([id, true, null]);
    for (const bad of BAD_INPUTS[id] ?? []) expect([id, bad, validate(bad)]).toEqual([id, bad, false]);
  });

  it('each has a row in the README action table with its inputs and PAT scope', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const a of ACTIONS) {
      const row = readme.split('\n').find((l) => l.startsWith(`| \`${a.identifier}\` |`));
      expect([a.identifier, row !== undefined]).toEqual([a.identifier, true]);
      for (const input of Object.keys(a.inputSchema.properties)) expect([a.identifier, input, row!.includes(`\`${input}\``)]).toEqual([a.identifier, input, true]);
      const scope = /vso\.[a-z_]+/.exec(a.permissions.join(' '))?.[0];
      expect([a.identifier, scope !== undefined && row!.includes(`\`${scope}\``)]).toEqual([a.identifier, true]);
    }
  });
});
