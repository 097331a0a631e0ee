/** What is running right now, for a live progress line: each running resource registers a reader of its counters. */
export interface ResourceProgress {
  organization: string;
  kind: string;
  rawItems: number;
  entities: number;
  written: number;
}

export class ProgressBoard {
  readonly #running = new Map<string, () => ResourceProgress>();
  readonly #onStart: Array<() => void> = [];
  #finishedItems = 0;

  start(key: string, read: () => ResourceProgress): void {
    this.#running.set(key, read);
    for (const listener of this.#onStart) listener();
  }

  /** Called whenever a resource starts (a progress line shows it at once, however short it runs). */
  onStart(listener: () => void): void {
    this.#onStart.push(listener);
  }

  end(key: string): void {
    const read = this.#running.get(key);
    if (read) this.#finishedItems += read().rawItems;
    this.#running.delete(key);
  }

  now(): ResourceProgress[] {
    return [...this.#running.values()].map((read) => read());
  }

  /** Raw items read so far by the finished and the running resources. */
  items(): number {
    return this.#finishedItems + this.now().reduce((a, r) => a + r.rawItems, 0);
  }
}
