/** Shared by the kinds-work*.test.ts files: runs a kind against the ADO simulator with the real client. */
import { Writable } from 'node:stream';
import { Ajv } from 'ajv';
import { pino } from 'pino';
import { AdoClient, type AdoClientOptions } from '../../src/ado/client.js';
import { PatAuth } from '../../src/ado/auth.js';
import { parseOrganizationUrl } from '../../src/ado/orgUrl.js';
import { fetchKind, getKind } from '../../src/kinds/registry.js';
import { createFetchContext } from '../../src/kinds/fetchContext.js';
import type { FetchContext, RawItem, Selector } from '../../src/kinds/types.js';
import type { Logger } from '../../src/observability/log.js';
import type { AdoSimulator } from '../simulators/ado/index.js';

const ajv = new Ajv({ useDefaults: true, coerceTypes: true });

export interface Harness {
  ctx: FetchContext;
  incomplete: string[];
  run(kind: string, selector?: Partial<Selector>): Promise<RawItem[]>;
}

export function harness(sim: AdoSimulator, opts: { log?: Logger; client?: Partial<AdoClientOptions>; pageSize?: number } = {}): Harness {
  const org = parseOrganizationUrl(sim.orgUrl(), 'services');
  const client = new AdoClient(org, new PatAuth(sim.pat), { backoffBaseMs: 1, backoffMaxMs: 5, ...opts.client });
  const incomplete: string[] = [];
  const ctx = createFetchContext({ client, log: opts.log, pageSize: opts.pageSize ?? 100, markIncomplete: (r) => incomplete.push(r) });
  return {
    ctx,
    incomplete,
    async run(kind, selector = {}) {
      const def = getKind(kind);
      if (!def) throw new Error(`kind ${kind} is not registered`);
      // Defaults and coercion as config loading applies them; unknown options are rejected.
      const sel: Record<string, unknown> = { query: 'true', ...selector };
      const validate = ajv.compile({ ...def.selectorSchema, additionalProperties: false, properties: { ...def.selectorSchema.properties, query: { type: 'string' } } });
      if (!validate(sel)) throw new Error(`invalid ${kind} selector: ${ajv.errorsText(validate.errors)}`);
      const out: RawItem[] = [];
      for await (const page of fetchKind(def, ctx, sel as Selector, org)) out.push(...page);
      return out;
    },
  };
}

export function capturingLogger(lines: string[]): Logger {
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return pino({ level: 'warn' }, stream);
}
