import type { ResourceSummary } from '../sync/resync.js';

/** The per-resource table printed on stderr at the end of a run. */
export function formatSummary(rows: ResourceSummary[], sinkName: string): string {
  const header = ['org', '#', 'kind', 'status', 'raw', 'entities', 'filtered', 'dropped', sinkName === 'dry-run' ? 'printed' : 'written', 'unchanged', 'failed', 'misconf', 'time'];
  const body = rows.map((r) => [
    r.organization,
    String(r.index),
    r.kind,
    r.status + (r.incomplete.length ? ' (incomplete)' : ''),
    String(r.rawItems),
    String(r.entities),
    String(r.filtered),
    String(r.dropped),
    String(r.written),
    String(r.unchanged),
    String(r.failedWrites),
    String(r.misconfigured.length),
    `${(r.durationMs / 1000).toFixed(1)}s`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [line(header), ...body.map(line)];
  for (const r of rows) {
    if (r.error) out.push(`resources[${r.index}] ${r.kind} (${r.organization}) failed: ${r.error}`);
    for (const m of r.misconfigured) {
      out.push(`resources[${r.index}] ${r.kind}: field ${m.field} (${m.expr}) failed ${m.count}x, first error: ${m.firstError}`);
    }
  }
  return out.join('\n') + '\n';
}
