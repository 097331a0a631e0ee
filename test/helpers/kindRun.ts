import { PatAuth } from '../../src/ado/auth.js';
import { AdoClient, type AdoClientOptions } from '../../src/ado/client.js';
import { parseOrganizationUrl } from '../../src/ado/orgUrl.js';
import { fetchKind } from '../../src/kinds/registry.js';
import { createFetchContext } from '../../src/kinds/fetchContext.js';
import type { KindDefinition, RawItem, Selector } from '../../src/kinds/types.js';
import type { AdoSimulator } from '../simulators/ado/index.js';

export interface KindRun {
  items: RawItem[];
  pages: number;
  incomplete: string[];
}

/** Runs one kind's fetcher against the simulator with the real client, as a resync would (minus mapping). */
export async function runKind(
  sim: AdoSimulator,
  kind: KindDefinition<never>,
  selector: Record<string, unknown> = {},
  pageSize = 100,
  clientOptions: Partial<AdoClientOptions> = { maxAttempts: 1 },
): Promise<KindRun> {
  const org = parseOrganizationUrl(sim.orgUrl(), 'services');
  const incomplete: string[] = [];
  const ctx = createFetchContext({ client: new AdoClient(org, new PatAuth(sim.pat), clientOptions), pageSize, markIncomplete: (reason) => incomplete.push(reason) });
  const items: RawItem[] = [];
  let pages = 0;
  for await (const page of fetchKind(kind as unknown as KindDefinition, ctx, { query: 'true', ...selector } as Selector, org)) {
    pages++;
    items.push(...page);
  }
  return { items, pages, incomplete };
}
