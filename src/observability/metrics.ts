/**
 * Every metric of a replica, each declared once (name, help text, labels) and kept by prom-client:
 * - process-wide (`processRegistry`): Node's default process metrics and the jq pool's figures;
 * - per cluster (`SyncMetrics`): what the resync and webhook jobs did and what the API clients sent;
 * - per server (`queueRegistry`): job counts read from Redis at scrape time.
 * `/metrics` serves them merged (`scrapeRegistry`). Nothing here decides anything: callers report, prom-client renders.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** Metrics of the whole process, whatever runs in it. */
export const processRegistry = new Registry();

let processMetricsOn = false;
/** Starts Node's default metrics (CPU, memory, heap, event loop lag, GC, handles) once, when something serves them. */
export function collectProcessMetrics(): void {
  if (processMetricsOn) return;
  processMetricsOn = true;
  collectDefaultMetrics({ register: processRegistry });
}

/** The long-lived jq processes of this replica (mapping/jqPool.ts reports to them). */
export const jqMetrics = {
  processes: new Gauge({ name: 'ado_sync_jq_processes', help: 'jq processes running in this replica', registers: [processRegistry] }),
  busySeconds: new Counter({ name: 'ado_sync_jq_busy_seconds', help: 'Cumulative seconds jq processes of this replica had work queued', registers: [processRegistry] }),
  items: new Counter({ name: 'ado_sync_jq_items', help: 'Items mapped by jq in this replica', registers: [processRegistry] }),
};

interface CounterDeclaration<L extends string = string> {
  name: string;
  help: string;
  labelNames: readonly L[];
}

/** The five counters of one API client, read from its `stats`. */
function clientCounters<const L extends string>(prefix: string, api: string, labelNames: readonly L[]) {
  return {
    requests: { name: `${prefix}_requests_total`, help: `${api} requests`, labelNames },
    retries: { name: `${prefix}_retries_total`, help: `${api} request retries`, labelNames },
    throttled: { name: `${prefix}_throttled_total`, help: `${api} throttled responses (429)`, labelNames },
    failures: { name: `${prefix}_failures_total`, help: `${api} requests that failed for good (retries spent or not retryable)`, labelNames },
    responses: { name: `${prefix}_responses_total`, help: `${api} responses by HTTP status`, labelNames: [...labelNames, 'status'] as const },
  } satisfies Record<string, CounterDeclaration>;
}

/** The counters a cluster keeps. */
export const SYNC_COUNTERS = {
  itemsFetched: { name: 'ado_sync_items_fetched_total', help: 'Raw items fetched from Azure DevOps', labelNames: ['kind'] },
  itemsMapped: { name: 'ado_sync_items_mapped_total', help: 'Entities produced by the mapping', labelNames: ['kind'] },
  itemsWritten: { name: 'ado_sync_items_written_total', help: 'Entities written to the catalog', labelNames: ['kind'] },
  resourceRuns: { name: 'ado_sync_resource_runs_total', help: 'Resource syncs by outcome', labelNames: ['kind', 'status'] },
  webhooksReceived: { name: 'ado_sync_webhooks_received_total', help: 'Webhook events accepted', labelNames: ['eventType'] },
  webhooksHandled: { name: 'ado_sync_webhooks_handled_total', help: 'Webhook events handled', labelNames: ['eventType', 'status'] },
  webhooksCoalesced: {
    name: 'ado_sync_webhooks_coalesced_total',
    help: 'Webhook events accepted without a job of their own: a queued job of their subject, not started yet, refetches it for them',
    labelNames: ['eventType'],
  },
  actionRunsReceived: { name: 'ado_sync_action_runs_received_total', help: 'Port action runs accepted (signed and queued)', labelNames: ['action'] },
  actionRunsEnded: { name: 'ado_sync_action_runs_ended_total', help: 'Port action runs ended, by outcome (SUCCESS or FAILURE)', labelNames: ['action', 'status'] },
  ado: clientCounters('ado_sync_ado', 'Azure DevOps', ['org']),
  port: clientCounters('ado_sync_port', 'Port API', []),
} as const;

type Declared<D> = D extends CounterDeclaration<infer L> ? Counter<L> : { [K in keyof D]: Declared<D[K]> };

function instantiate<D>(declarations: D, registry: Registry): Declared<D> {
  const out: Record<string, unknown> = {};
  for (const [key, d] of Object.entries(declarations as Record<string, unknown>)) {
    const decl = d as CounterDeclaration;
    out[key] = typeof decl.name === 'string' ? new Counter({ name: decl.name, help: decl.help, labelNames: decl.labelNames, registers: [registry] }) : instantiate(d, registry);
  }
  return out as Declared<D>;
}

/** The figures of one resource sync that the counters take (sync/resync.ts's ResourceSummary has them). */
export interface ResourceFigures {
  kind: string;
  status: string;
  rawItems: number;
  entities: number;
  written: number;
}

/** What an API client counts (`client.stats`): cumulative since the client was made. */
export interface ClientStats {
  requests: number;
  retries: number;
  throttled: number;
  failures: number;
  byStatus: ReadonlyMap<number, number>;
}

type ClientCounters = Declared<ReturnType<typeof clientCounters<string>>>;
type StatsSeen = Omit<ClientStats, 'byStatus'> & { byStatus: Map<number, number> };

/** The counters of one cluster (its resync and webhook workers), in a registry of their own. */
export class SyncMetrics {
  readonly registry = new Registry();
  readonly #c = instantiate(SYNC_COUNTERS, this.registry);
  /** What was already counted of each stats object, so that reading one again counts only what it added since. */
  readonly #seen = new WeakMap<ClientStats, StatsSeen>();

  recordResource(s: ResourceFigures): void {
    const kind = { kind: s.kind };
    this.#c.itemsFetched.inc(kind, s.rawItems);
    this.#c.itemsMapped.inc(kind, s.entities);
    this.#c.itemsWritten.inc(kind, s.written);
    this.#c.resourceRuns.inc({ kind: s.kind, status: s.status });
  }

  webhookReceived(eventType: string): void {
    this.#c.webhooksReceived.inc({ eventType });
  }

  webhookCoalesced(eventType: string): void {
    this.#c.webhooksCoalesced.inc({ eventType });
  }

  webhookHandled(eventType: string, status: string): void {
    this.#c.webhooksHandled.inc({ eventType, status });
  }

  actionReceived(action: string): void {
    this.#c.actionRunsReceived.inc({ action });
  }

  actionEnded(action: string, status: string): void {
    this.#c.actionRunsEnded.inc({ action, status });
  }

  /** Reads an Azure DevOps client's stats; call it whenever convenient (after a job), each request counts once. */
  recordAdo(org: string, stats: ClientStats): void {
    this.#recordClient(this.#c.ado as ClientCounters, { org }, stats);
  }

  /** Reads a Port client's stats, as `recordAdo`. */
  recordPort(stats: ClientStats): void {
    this.#recordClient(this.#c.port as ClientCounters, {}, stats);
  }

  #recordClient(c: ClientCounters, labels: Record<string, string>, stats: ClientStats): void {
    const seen = this.#seen.get(stats) ?? { requests: 0, retries: 0, throttled: 0, failures: 0, byStatus: new Map<number, number>() };
    for (const key of ['requests', 'retries', 'throttled', 'failures'] as const) {
      const added = stats[key] - seen[key];
      if (added > 0) c[key].inc(labels, added);
      seen[key] = stats[key];
    }
    for (const [status, n] of stats.byStatus) {
      const added = n - (seen.byStatus.get(status) ?? 0);
      if (added > 0) c.responses.inc({ ...labels, status: String(status) }, added);
      seen.byStatus.set(status, n);
    }
    this.#seen.set(stats, seen);
  }
}

/** A queue whose job counts are read at scrape time (a BullMQ Queue, its Redis call already bounded in time). */
export interface QueueSource {
  name: string;
  counts(): Promise<Record<string, number>>;
}

/** Job counts by queue and state, read once per scrape; a queue that cannot be read reports `ado_sync_queue_up 0`. */
export function queueRegistry(queues: QueueSource[]): Registry {
  const registry = new Registry();
  let reading: Promise<Array<Record<string, number> | undefined>> | undefined;
  // Both gauges are collected in the same scrape: they share one read of each queue.
  const read = () =>
    (reading ??= Promise.all(queues.map((q) => q.counts().catch(() => undefined))).finally(() => {
      reading = undefined;
    }));
  new Gauge({
    name: 'ado_sync_jobs',
    help: 'Jobs by queue and state',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      const counts = await read();
      this.reset();
      queues.forEach((q, i) => Object.entries(counts[i] ?? {}).forEach(([state, n]) => this.set({ queue: q.name, state }, n)));
    },
  });
  new Gauge({
    name: 'ado_sync_queue_up',
    help: 'Whether the queue could be read',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      const counts = await read();
      this.reset();
      queues.forEach((q, i) => this.set({ queue: q.name }, counts[i] ? 1 : 0));
    },
  });
  return registry;
}

/** What `/metrics` serves: the process's metrics, then the given registries (a cluster's, a server's queues). */
export function scrapeRegistry(...registries: Array<Registry | undefined>): Registry {
  collectProcessMetrics();
  return Registry.merge([processRegistry, ...registries.filter((r): r is Registry => r !== undefined)]);
}
