import type { ResourceSummary } from '../sync/resync.js';

/** Notes and incomplete parts printed per resource; the rest is in the log. */
const MAX_LINES = 20;

/** An organization that failed as a whole (no resource ran to its end), as fullResync's organizationFailure reports it. */
const wholeOrganization = (r: ResourceSummary) => r.index < 0;

/**
 * The per-resource table printed on stderr at the end of a run; an organization that failed as a whole is one line
 * instead of rows.
 */
export function formatSummary(all: ResourceSummary[], sinkName: string): string {
  const rows = all.filter((r) => !wholeOrganization(r));
  const failedOrgs = all.filter(wholeOrganization).map((r) => `organization ${r.organization} failed: ${r.error ?? 'unknown error'}`);
  if (rows.length === 0) return failedOrgs.join('\n') + '\n';
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
    for (const n of (r.notes ?? []).slice(0, MAX_LINES)) out.push(`resources[${r.index}] ${r.kind}: ${n}`);
    for (const reason of r.incomplete.slice(0, MAX_LINES)) out.push(`resources[${r.index}] ${r.kind} (${r.organization}) incomplete: ${reason}`);
    const more = Math.max(0, (r.notes?.length ?? 0) - MAX_LINES) + Math.max(0, r.incomplete.length - MAX_LINES);
    if (more > 0) out.push(`resources[${r.index}] ${r.kind}: … and ${more} more lines (see the log)`);
    for (const m of r.misconfigured) {
      out.push(`resources[${r.index}] ${r.kind}: field ${m.field} (${m.expr}) failed ${m.count}x, first error: ${m.firstError}`);
    }
  }
  return [...out, ...failedOrgs].join('\n') + '\n';
}

/**
 * The stale-deletion line. A deletion skipped because the run was incomplete never listed what Port holds, so it
 * shows no owned or stale counts rather than zeros.
 */
export function formatDeletion(d: { owned: number; stale: number; deleted: number; skippedReason?: string }, incompleteReason?: string): string {
  if (d.skippedReason === 'incomplete') return `stale deletion: deleted 0 (skipped: ${incompleteReason ?? 'the resync was incomplete'})`;
  const why = d.skippedReason === 'threshold' ? ' (skipped: over entityDeletionThreshold)' : d.skippedReason ? ` (skipped: ${d.skippedReason})` : '';
  return `stale deletion: owned ${d.owned}, stale ${d.stale}, deleted ${d.deleted}${why}`;
}
