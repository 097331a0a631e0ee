/**
 * The catalog refresh after an action changed Azure DevOps: each configured resource of the changed kind refetches the
 * items the change touched (the kind's `refetch`, with its resync filters), and the outcome is written as a live
 * event's is (OutcomeWriter: mapped, upserted, and the owned entities of items that are gone deleted). It matches the
 * actions' `CatalogRefresh` (src/actions/types.ts), which this floor cannot name.
 */
import type { PortAppConfig } from '../config/appConfig.js';
import { createFetchContext } from '../kinds/fetchContext.js';
import { getKind } from '../kinds/registry.js';
import { RunCache } from '../kinds/shared/runCache.js';
import type { RefetchHint, Selector } from '../kinds/types.js';
import type { Logger } from '../observability/log.js';
import { OutcomeWriter, type OutcomeWriterDeps } from './outcomeWriter.js';
import type { OrgTarget } from './resync.js';

export interface CatalogRefresherDeps extends OutcomeWriterDeps {
  config: PortAppConfig;
  targets: OrgTarget[];
  log: Logger;
  pageSize: number;
}

/**
 * `kindChanged(kind, hint)`: `hint.organization` names the organization (its name, as `AdoClient.org.name`); without
 * it, the only configured one. The rest of the hint is the kind's (see each kind's `refetch`).
 */
export class CatalogRefresher {
  readonly #writer: OutcomeWriter;

  constructor(private readonly deps: CatalogRefresherDeps) {
    this.#writer = new OutcomeWriter(deps);
  }

  async kindChanged(kind: string, hint: RefetchHint, signal?: AbortSignal): Promise<{ written: number; deleted: number }> {
    const definition = getKind(kind);
    if (!definition?.refetch) throw new Error(`the ${kind} kind cannot be refetched`);
    const target = this.#target(hint.organization);
    const resources = this.deps.config.resources.map((resource, index) => ({ resource, index })).filter(({ resource }) => resource.kind === kind);
    const totals = { written: 0, deleted: 0 };
    if (resources.length === 0) return totals;
    const org = target.client.org;
    const cache = new RunCache();
    for (const { resource, index } of resources) {
      const log = this.deps.log.child({ refresh: kind, resource: index, org: org.name });
      const ctx = createFetchContext({ client: target.client, log, signal, cache, pageSize: this.deps.pageSize });
      const outcome = await definition.refetch(ctx, resource.selector as Selector, hint);
      const result = await this.#writer.write(org, index, resource, outcome, log);
      totals.written += result.upserted;
      totals.deleted += result.deleted;
    }
    return totals;
  }

  #target(organization: unknown): OrgTarget {
    const { targets } = this.deps;
    if (typeof organization === 'string' && organization !== '') {
      const found = targets.find((t) => t.client.org.name.toLowerCase() === organization.toLowerCase());
      if (!found) throw new Error(`catalog refresh: organization "${organization}" is not configured`);
      return found;
    }
    if (targets.length !== 1) throw new Error('catalog refresh: the hint names no organization and several are configured');
    return targets[0]!;
  }

  close(): Promise<void> {
    return this.#writer.close();
  }
}
