import { afterEach, beforeEach, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPortSimulator, type PortSimulator } from '../simulators/port/index.js';
import { projectBlueprint, repositoryBlueprint, serviceBlueprint } from '../simulators/port/fixtures.js';
import { captureLogger, clientFor } from '../simulators/port/testing.js';
import { bootstrapBlueprints, loadBlueprintFiles } from '../../src/catalog/port/blueprints.js';

let sim: PortSimulator;
let dir: string;

beforeEach(async () => {
  sim = await startPortSimulator();
  dir = await mkdtemp(join(tmpdir(), 'port-blueprints-'));
});
afterEach(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

test('creates missing blueprints whatever the file order (bare first, then relations)', async () => {
  // "a-" sorts first but relates to blueprints defined in later files; one file holds an array.
  await writeFile(join(dir, 'a-service.json'), JSON.stringify(serviceBlueprint));
  await writeFile(join(dir, 'b-repo-and-project.json'), JSON.stringify([repositoryBlueprint, projectBlueprint]));
  await writeFile(join(dir, 'notes.txt'), 'ignored');
  const res = await bootstrapBlueprints(clientFor(sim), dir, captureLogger().log);
  expect(res).toEqual({ created: ['service', 'repository', 'project'], kept: [] });
  expect(sim.blueprints.get('service')!.relations).toEqual(serviceBlueprint.relations);
  expect(sim.blueprints.get('repository')!.relations).toEqual(repositoryBlueprint.relations);
  const creates = sim.requestsTo('POST', '/v1/blueprints');
  expect(creates.every((r) => (r.body as { relations?: unknown }).relations === undefined)).toBe(true);
});

test('never overwrites an existing blueprint, even one the user changed', async () => {
  await writeFile(join(dir, 'all.json'), JSON.stringify([projectBlueprint, repositoryBlueprint]));
  const logs = captureLogger();
  await bootstrapBlueprints(clientFor(sim), dir, logs.log);
  // The user edits the repository blueprint in Port's UI.
  sim.store.patchBlueprint('repository', { title: 'Our Repos', schema: { properties: { owner: { type: 'string' } }, required: [] } });
  sim.clearRequests();
  const res = await bootstrapBlueprints(clientFor(sim), dir, logs.log);
  expect(res).toEqual({ created: [], kept: ['project', 'repository'] });
  expect(sim.blueprints.get('repository')).toMatchObject({ title: 'Our Repos', schema: { properties: { owner: { type: 'string' } } } });
  expect(sim.requests.filter((r) => r.method !== 'GET' && r.path.startsWith('/v1/blueprints'))).toEqual([]);
  expect(logs.records()).toContainEqual(expect.objectContaining({ blueprint: 'repository', msg: expect.stringContaining('kept as is') }));
});

test('a blueprint whose relation target exists nowhere fails, and what this call created is removed', async () => {
  await writeFile(join(dir, 'x.json'), JSON.stringify([projectBlueprint, { ...serviceBlueprint, relations: { repositories: { target: 'missing', many: true, required: false } } }]));
  await expect(bootstrapBlueprints(clientFor(sim), dir, captureLogger().log)).rejects.toThrow(/"service".*relations.*missing/);
  expect([...sim.blueprints.keys()]).toEqual([]);
});

test('bad files are named in the error', async () => {
  await writeFile(join(dir, 'broken.json'), '{ nope');
  await expect(loadBlueprintFiles(dir)).rejects.toThrow(/broken\.json: not valid JSON/);
  await writeFile(join(dir, 'broken.json'), JSON.stringify([{ identifier: 'x', title: 'X', schema: { properties: {} } }, { title: 'no id' }]));
  await expect(loadBlueprintFiles(dir)).rejects.toThrow(/broken\.json\[1\]: a blueprint needs a string "identifier"/);
});

test('the shipped blueprints/ folder bootstraps into the simulator', async () => {
  const files = await loadBlueprintFiles('blueprints');
  const res = await bootstrapBlueprints(clientFor(sim), 'blueprints', captureLogger().log);
  expect(res.created.sort()).toEqual(files.map((f) => f.blueprint.identifier).sort());
});
