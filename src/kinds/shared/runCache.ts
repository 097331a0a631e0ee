/**
 * Memoises parent listings (projects, repositories) for the duration of one run, so kinds that share a parent fetch
 * it once. Only small parent lists belong here; item streams are never cached.
 */
export class RunCache {
  readonly #entries = new Map<string, Promise<unknown>>();

  memo<T>(key: string, load: () => Promise<T>): Promise<T> {
    let entry = this.#entries.get(key) as Promise<T> | undefined;
    if (!entry) {
      entry = load();
      this.#entries.set(key, entry);
      // A failed listing must not be served to the next kind as if it were cached data.
      entry.catch(() => this.#entries.delete(key));
    }
    return entry;
  }

  clear(): void {
    this.#entries.clear();
  }
}
