import { afterEach, beforeEach, expect, test } from '@jest/globals';
import { startPortSimulator, type PortSimulator } from '../simulators/port/index.js';
import { defaultBlueprints } from '../simulators/port/fixtures.js';
import { captureLogger, clientFor, project, repo } from '../simulators/port/testing.js';
import { PortClient } from '../../src/catalog/port/client.js';
import { PortSink } from '../../src/catalog/portSink.js';
import { errorMessage } from '../../src/util/errors.js';

let sim: PortSimulator;

beforeEach(async () => {
  sim = await startPortSimulator({ blueprints: defaultBlueprints() });
});
afterEach(async () => {
  await sim.close();
});

test('logs and errors never contain the client id, client secret or an access token', async () => {
  const logs = captureLogger('trace');
  const errors: string[] = [];
  const client = clientFor(sim, { concurrency: 2 }, logs.log);
  const sink = new PortSink({ client, createMissingRelatedEntities: false, log: logs.log });

  // Throttling, server errors, an expired token, refused entities, a missing relation target.
  sim.setFaults({ throttleEvery: 3, retryAfterSeconds: 0, serverErrorEvery: 5, rateLimitResetSeconds: 1 });
  await sink.upsert(Array.from({ length: 30 }, (_, i) => project(`p${i}`)), { organization: 'o', resourceIndex: 0, kind: 'project' });
  sim.expireTokens();
  await sink.upsert([repo('r1', { relations: { project: 'p1' } }), repo('r2', { relations: { project: 'nope' } }), repo('r3', { properties: { size: 'x' } })], {
    organization: 'o',
    resourceIndex: 1,
    kind: 'repository',
  });
  const flushed = await sink.flush();
  errors.push(...flushed.failed.map((f) => f.error));
  sim.setFaults({ throttleEvery: 0, serverErrorEvery: 0 });

  // Wrong secret: the error (and whatever the caller logs of it) must not echo the credentials.
  const wrong = new PortClient(
    { clientId: sim.clientId, clientSecret: `${sim.clientSecret}-wrong`, baseUrl: sim.url, integrationIdentifier: 'x' },
    { backoffBaseMs: 1 },
    logs.log,
  );
  try {
    await wrong.listBlueprints();
  } catch (err) {
    errors.push(errorMessage(err));
    logs.log.error({ err }, 'port call failed');
  }
  // Retries exhausted on 503s.
  sim.setFaults({ serverErrorEvery: 1 });
  const exhausted = await clientFor(sim, { maxAttempts: 2 }, logs.log).upsertEntities('project', [project('z')], {
    createMissingRelatedEntities: true,
    merge: true,
  });
  errors.push(exhausted[0]!.message ?? '');
  logs.log.error({ result: exhausted[0] }, 'entity failed');

  const text = logs.text() + '\n' + errors.join('\n');
  expect(logs.records().length).toBeGreaterThan(5);
  expect(errors.length).toBeGreaterThanOrEqual(3);
  expect(sim.issuedTokens().length).toBeGreaterThanOrEqual(2);
  for (const secret of [sim.clientSecret, `${sim.clientSecret}-wrong`, sim.clientId, ...sim.issuedTokens()]) {
    expect(text).not.toContain(secret);
  }
  expect(text).toContain('HTTP 503');
  expect(text).toContain('port request failed, retrying');
  expect(text).toContain('port token rejected');
  expect(text).toContain('client credentials');
});
