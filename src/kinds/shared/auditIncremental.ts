/**
 * Incremental passes driven by the audit log, for kinds whose API has no change filter (identities, projects,
 * repositories, pipelines). The entries since the cursor say whether the kind changed and what: nothing concerning it
 * reads nothing; entries about it read what they name (or the kind whole); an entry that proves an item gone reports
 * it (`ctx.gone`) unless the read found it again. Without an audit log the kind is listed whole, and the summary says why.
 */
import type { FetchContext, IncrementalPass, RawItem, Selector } from '../types.js';
import { auditField, auditLogSince, type AuditEntry } from './auditLog.js';

export interface AuditDriven<S extends Selector> {
  /** For the README: what the pass reads. */
  reads: string;
  /** Entries about this kind. */
  concerns(entry: AuditEntry): boolean;
  /**
   * A listing of one request or so: read whole every pass (changes the audit log does not record, such as a
   * description, still arrive), the audit log only proving deletions.
   */
  listAlways?: boolean;
  /**
   * Reads what the entries (newest first) changed; it may report items it found gone through `ctx.gone`. Default: the
   * kind listed whole.
   */
  refetch?(ctx: FetchContext, selector: S, entries: AuditEntry[]): AsyncIterable<RawItem[]>;
  /** The item an entry proves deleted, as far as the entry tells (its identity fields), or undefined. */
  gone?(entry: AuditEntry): RawItem | undefined;
  /** The identity an item and a gone item share (default `id`), so an item read again is not deleted. */
  idOf?(item: RawItem): unknown;
}

/** The projects (ids, lower case) the entries name; undefined when one names none (then every project is read). */
export function projectsNamed(entries: AuditEntry[]): Set<string> | undefined {
  const ids = entries.map((e) => (auditField(e, 'ProjectId') ?? e.projectId ?? '').toLowerCase());
  return ids.includes('') ? undefined : new Set(ids);
}

export function fromAuditLog<S extends Selector>(fetch: (ctx: FetchContext, selector: S) => AsyncIterable<RawItem[]>, a: AuditDriven<S>): IncrementalPass<S> {
  const idOf = a.idOf ?? ((item: RawItem) => item.id);
  return {
    reads: a.reads,
    async *since(ctx, selector, since) {
      const view = await auditLogSince(ctx, since);
      if ('unavailable' in view) {
        ctx.note?.(`incremental: audit log skipped (${view.unavailable}); listed whole`);
        yield* fetch(ctx, selector);
        return;
      }
      const entries = view.entries.filter((e) => a.concerns(e));
      if (entries.length === 0 && !a.listAlways) {
        ctx.note?.('incremental: the audit log has no change for this kind; nothing read');
        return;
      }
      const count = entries.length === 0 ? 'no audit log entry' : `${entries.length} audit log ${entries.length === 1 ? 'entry' : 'entries'}`;
      ctx.note?.(`incremental: ${count} about this kind${a.listAlways ? '; listed whole (a cheap listing)' : ''}`);
      const seen = new Set<string>();
      for await (const page of a.refetch && !a.listAlways ? a.refetch(ctx, selector, entries) : fetch(ctx, selector)) {
        for (const item of page) seen.add(String(idOf(item)).toLowerCase());
        yield page;
      }
      // An item deleted and then restored (or created again) was just read: only what the read did not find is gone.
      const gone = new Map<string, RawItem>();
      for (const entry of entries) {
        const item = a.gone?.(entry);
        const key = item ? String(idOf(item)).toLowerCase() : '';
        if (item && !seen.has(key) && !gone.has(key)) gone.set(key, item);
      }
      if (gone.size > 0) ctx.gone?.([...gone.values()]);
    },
  };
}
