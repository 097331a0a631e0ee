const noop = () => {};

/**
 * Runs `fn` for each element of `source` with at most `concurrency` child streams open, yielding their values as they
 * arrive. Each child has at most one value in flight, so memory stays bounded and a slow consumer slows the producers.
 */
export async function* mergeMap<A, B>(
  source: AsyncIterable<A> | Iterable<A>,
  fn: (a: A) => AsyncIterable<B>,
  concurrency: number,
): AsyncGenerator<B> {
  const src = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : toAsync(source as Iterable<A>);
  interface Child {
    it: AsyncIterator<B>;
    next: Promise<{ child: Child; result: IteratorResult<B> }>;
  }
  const active = new Set<Child>();
  const pull = (child: Child) => {
    child.next = child.it.next().then((result) => ({ child, result }));
    child.next.catch(noop); // observed by Promise.race; this only prevents an unhandled-rejection crash
  };
  let sourceDone = false;
  try {
    while (true) {
      while (!sourceDone && active.size < concurrency) {
        const s = await src.next();
        if (s.done) {
          sourceDone = true;
          break;
        }
        const child = { it: fn(s.value)[Symbol.asyncIterator]() } as Child;
        pull(child);
        active.add(child);
      }
      if (active.size === 0) return;
      const { child, result } = await Promise.race([...active].map((c) => c.next));
      if (result.done) active.delete(child);
      else {
        yield result.value;
        pull(child);
      }
    }
  } finally {
    for (const c of active) void c.it.return?.().catch(noop);
    if (!sourceDone) void src.return?.()?.catch(noop);
  }
}

async function* toAsync<A>(it: Iterable<A>): AsyncGenerator<A> {
  yield* it;
}

/** Flattens an async stream of pages into items. */
export async function* items<T>(pages: AsyncIterable<T[]>): AsyncGenerator<T> {
  for await (const page of pages) yield* page;
}

/** Regroups a stream of items into pages of at most `size`. */
export async function* chunk<T>(source: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let page: T[] = [];
  for await (const item of source) {
    page.push(item);
    if (page.length >= size) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}

export async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of source) out.push(x);
  return out;
}
