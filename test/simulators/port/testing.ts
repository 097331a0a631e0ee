/** Helpers for tests that drive the Port client against the simulator. */
import { createLogger, type Logger } from '../../../src/observability/log.js';
import { PortClient, type PortClientOptions } from '../../../src/catalog/port/index.js';
import type { Entity } from '../../../src/catalog/entity.js';
import type { PortSimulator } from './index.js';

export interface CapturedLog {
  log: Logger;
  /** Everything written so far, one JSON line per record. */
  text(): string;
  records(): Array<Record<string, unknown>>;
}

/** A real pino logger (same redaction as production) writing to memory. */
export function captureLogger(level = 'debug'): CapturedLog {
  const lines: string[] = [];
  const log = createLogger(level, { write: (chunk: string) => void lines.push(chunk) });
  return {
    log,
    text: () => lines.join(''),
    records: () =>
      lines
        .join('')
        .split('\n')
        .filter((l) => l.trim().length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** Fast retries for tests: the simulator answers immediately. */
export const FAST: Partial<PortClientOptions> = { backoffBaseMs: 1, backoffMaxMs: 20, maxAttempts: 10, timeoutMs: 10_000 };

export function clientFor(
  sim: PortSimulator,
  options: Partial<PortClientOptions> = {},
  log?: Logger,
  integrationIdentifier = 'test-instance',
): PortClient {
  return new PortClient(
    { clientId: sim.clientId, clientSecret: sim.clientSecret, baseUrl: sim.url, integrationIdentifier, version: '9.9.9' },
    { ...FAST, ...options },
    log,
  );
}

export function repo(id: string, extra: Partial<Entity> = {}): Entity {
  return {
    identifier: id,
    blueprint: 'repository',
    title: id,
    properties: { url: `https://dev.azure.com/org/p/_git/${id}`, defaultBranch: 'main', isDisabled: false, size: 1 },
    relations: {},
    ...extra,
  };
}

export function project(id: string, extra: Partial<Entity> = {}): Entity {
  return { identifier: id, blueprint: 'project', title: id, properties: { state: 'wellFormed', revision: 1 }, relations: {}, ...extra };
}

export function service(id: string, repositories: string[]): Entity {
  return { identifier: id, blueprint: 'service', title: id, properties: { tier: 'gold' }, relations: { repositories } };
}
