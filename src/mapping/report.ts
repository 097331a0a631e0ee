/** What happened while mapping one resource: the figures of the summary, and what was misconfigured. */
export class MappingReport {
  rawItems = 0;
  /** Entity candidates (items, or itemsToParse elements). */
  candidates = 0;
  entities = 0;
  filtered = 0;
  /** Entities dropped because identifier or blueprint was empty. */
  dropped = 0;
  readonly fieldErrors = new Map<string, { expr: string; firstError: string; count: number }>();
  readonly dropReasons = new Map<string, number>();

  fieldError(field: string, expr: string, message: string): void {
    const entry = this.fieldErrors.get(field);
    if (entry) entry.count++;
    else this.fieldErrors.set(field, { expr, firstError: message, count: 1 });
  }

  drop(reason: string): void {
    this.dropped++;
    this.dropReasons.set(reason, (this.dropReasons.get(reason) ?? 0) + 1);
  }

  get misconfiguredFields(): number {
    return this.fieldErrors.size;
  }
}
