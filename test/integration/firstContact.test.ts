/**
 * One mistake, one message: a wrong PAT, a host that does not exist or one that refuses connections stops the
 * organization on its first contact, within seconds and a few lines, naming the organization, the cause and the setting.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { startAdoSimulator, type AdoSimulator } from '../simulators/ado/index.js';
import { ROOT, runCli } from '../helpers/cli.js';

const resolver = resolve(ROOT, 'test/helpers/resolver.mjs');
let sim: AdoSimulator;

beforeAll(async () => {
  sim = await startAdoSimulator({ pat: 'first-contact-pat-1234' });
});
afterAll(async () => {
  await sim.close();
});

/** A loopback port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function dryRun(env: NodeJS.ProcessEnv) {
  const started = Date.now();
  const r = await runCli(['dry-run'], { env: { ADO_FLAVOR: 'services', NODE_OPTIONS: `--import=${resolver}`, ...env } });
  const lines = r.stderr.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
  return { ...r, seconds: (Date.now() - started) / 1000, lines };
}

describe('first contact', () => {
  test('a wrong PAT stops the organization at once, says so once, and names --pat', async () => {
    const before = sim.requests.length;
    const r = await dryRun({ ADO_ORGANIZATION_URL: sim.orgUrl(), ADO_PERSONAL_ACCESS_TOKEN: 'wrong-pat-987654' });
    expect(r.code).toBe(1);
    expect(r.seconds).toBeLessThan(10);
    expect(r.lines.length).toBeLessThanOrEqual(5);
    expect(r.stderr).toContain('organization acme failed');
    expect(r.stderr).toContain('--pat / ADO_PERSONAL_ACCESS_TOKEN');
    expect(r.stderr).not.toMatch(/\.\.\s/);
    expect(r.stderr).not.toContain('wrong-pat-987654');
    // Requests already in flight when the first answer came back, and nothing after.
    expect(sim.requests.length - before).toBeLessThanOrEqual(8);
    expect(r.stdout).toBe('');
  });

  test('an organization host that does not exist is not retried', async () => {
    const r = await dryRun({ ADO_ORGANIZATION_URL: 'https://dev.azure.com/acmetypo', ADO_PERSONAL_ACCESS_TOKEN: 'x-pat-1234', ADO_SYNC_TEST_NXDOMAIN: 'dev.azure.com' });
    expect(r.code).toBe(1);
    expect(r.seconds).toBeLessThan(10);
    expect(r.lines.length).toBeLessThanOrEqual(5);
    expect(r.stderr).toContain('organization acmetypo failed');
    expect(r.stderr).toContain('the host dev.azure.com does not exist');
    expect(r.stderr).toContain('--org / ADO_ORGANIZATION_URL');
    expect(r.stderr).not.toContain('retrying');
  });

  test('a host that refuses connections stops the organization at once', async () => {
    const port = await closedPort();
    const r = await dryRun({ ADO_ORGANIZATION_URL: `http://127.0.0.1:${port}/acme`, ADO_PERSONAL_ACCESS_TOKEN: 'x-pat-1234' });
    expect(r.code).toBe(1);
    expect(r.seconds).toBeLessThan(10);
    expect(r.lines.length).toBeLessThanOrEqual(5);
    expect(r.stderr).toContain(`127.0.0.1:${port} refuses connections`);
    expect(r.stderr).not.toContain('retrying');
  });
});
