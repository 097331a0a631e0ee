/** Process-local counters for /metrics (Prometheus text format); job counts come from Redis at scrape time. */
import type { ResourceSummary } from '../sync/resync.js';

type Labels = Record<string, string>;

export class Metrics {
  readonly #counters = new Map<string, { help: string; values: Map<string, number> }>();

  inc(name: string, help: string, labels: Labels, by = 1): void {
    let c = this.#counters.get(name);
    if (!c) this.#counters.set(name, (c = { help, values: new Map() }));
    const key = labelText(labels);
    c.values.set(key, (c.values.get(key) ?? 0) + by);
  }

  recordResource(s: ResourceSummary): void {
    const l = { kind: s.kind };
    this.inc('ado_sync_items_fetched_total', 'Raw items fetched from Azure DevOps', l, s.rawItems);
    this.inc('ado_sync_items_mapped_total', 'Entities produced by the mapping', l, s.entities);
    this.inc('ado_sync_items_written_total', 'Entities written to the catalog', l, s.written);
    this.inc('ado_sync_resource_runs_total', 'Resource syncs by outcome', { ...l, status: s.status }, 1);
  }

  recordAdo(org: string, stats: { requests: number; retries: number; throttled: number }): void {
    this.inc('ado_sync_ado_requests_total', 'Azure DevOps requests', { org }, stats.requests);
    this.inc('ado_sync_ado_retries_total', 'Azure DevOps request retries', { org }, stats.retries);
    this.inc('ado_sync_ado_throttled_total', 'Azure DevOps throttled responses (429)', { org }, stats.throttled);
  }

  render(gauges: Array<{ name: string; help: string; labels: Labels; value: number }> = []): string {
    const lines: string[] = [];
    for (const [name, c] of this.#counters) {
      lines.push(`# HELP ${name} ${c.help}`, `# TYPE ${name} counter`);
      for (const [labels, v] of c.values) lines.push(`${name}${labels} ${v}`);
    }
    const seen = new Set<string>();
    for (const g of gauges) {
      if (!seen.has(g.name)) {
        seen.add(g.name);
        lines.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`);
      }
      lines.push(`${g.name}${labelText(g.labels)} ${g.value}`);
    }
    return lines.join('\n') + '\n';
  }
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}
