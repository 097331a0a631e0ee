/**
 * Orders items in layers such that every item comes after the items it waits for: the first layer waits for nothing,
 * each next one only for earlier layers. Items caught in a cycle end up together in one last layer (`cyclic`).
 */
export function layers<T>(items: T[], waitsFor: (index: number) => Iterable<number>): { layers: T[][]; cyclic: number } {
  const deps = items.map((_, i) => [...waitsFor(i)].filter((d) => d !== i));
  const done = new Set<number>();
  const out: T[][] = [];
  let remaining = items.map((_, i) => i);
  while (remaining.length > 0) {
    const ready = remaining.filter((i) => deps[i]!.every((d) => done.has(d)));
    if (ready.length === 0) {
      out.push(remaining.map((i) => items[i]!));
      return { layers: out, cyclic: remaining.length };
    }
    for (const i of ready) done.add(i);
    out.push(ready.map((i) => items[i]!));
    remaining = remaining.filter((i) => !done.has(i));
  }
  return { layers: out, cyclic: 0 };
}

/** Indexes of items by a key (several items may share one). */
export function indexBy<T>(items: T[], key: (item: T) => string | undefined): Map<string, number[]> {
  const byKey = new Map<string, number[]>();
  items.forEach((item, i) => {
    const k = key(item);
    if (k !== undefined) (byKey.get(k) ?? byKey.set(k, []).get(k)!).push(i);
  });
  return byKey;
}
