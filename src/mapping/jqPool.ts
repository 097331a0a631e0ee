import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { jqMetrics } from '../observability/metrics.js';
import { jqEnvironment, jqPath } from './jqBinary.js';

/** A jq process died (or could not start) while mapping. */
export class JqProcessError extends Error {
  override name = 'JqProcessError';
}

interface Batch {
  resolve: (line: string) => void;
  reject: (err: Error) => void;
}

/** One long-lived `jq -c --unbuffered PROGRAM` reading one JSON value per line and writing one line per input. */
class JqProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly #queue: Batch[] = [];
  #partial = '';
  #stderr = '';
  #dead: Error | undefined;
  #drained: Promise<void> | undefined;
  #busySince = 0;
  inFlight = 0;

  constructor(program: string) {
    this.child = spawn(jqPath(), ['-c', '--unbuffered', program], { env: jqEnvironment(), stdio: ['pipe', 'pipe', 'pipe'] });
    jqMetrics.processes.inc();
    this.child.once('exit', () => jqMetrics.processes.dec());
    this.child.stdout.setEncoding('utf8');
    this.child.stderr.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => this.#onData(chunk));
    this.child.stderr.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-2000);
    });
    this.child.on('error', (err) => this.#fail(new JqProcessError(`jq could not run (${jqPath()}): ${err.message}`)));
    this.child.on('exit', (code, signal) => {
      const why = signal ? `killed by ${signal}` : `exited with code ${code}`;
      this.#fail(new JqProcessError(`jq ${why}${this.#stderr ? `: ${this.#stderr.trim()}` : ''}`));
    });
    this.child.stdin.on('error', () => {
      /* EPIPE after death is reported through 'exit' */
    });
  }

  get dead(): boolean {
    return this.#dead !== undefined;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async run(line: string, weight: number): Promise<string> {
    if (this.#dead) throw this.#dead;
    const done = new Promise<string>((resolve, reject) => {
      this.#queue.push({ resolve, reject });
    });
    if (this.inFlight === 0) this.#busySince = Date.now();
    this.inFlight += weight;
    jqMetrics.items.inc(weight);
    try {
      // One shared wait for 'drain' however many batches are queued behind a full pipe.
      if (this.#drained) await Promise.race([this.#drained, done]);
      if (!this.child.stdin.write(line + '\n') && !this.#drained) {
        // A broken pipe rejects `once`; the batch then fails through 'exit' as a JqProcessError, which is retried.
        const clear = () => {
          this.#drained = undefined;
        };
        this.#drained = once(this.child.stdin, 'drain').then(clear, clear);
      }
      return await done;
    } finally {
      this.inFlight -= weight;
      if (this.inFlight === 0) jqMetrics.busySeconds.inc((Date.now() - this.#busySince) / 1000);
    }
  }

  #onData(chunk: string): void {
    const text = this.#partial + chunk;
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      const batch = this.#queue.shift();
      if (!batch) {
        this.#fail(new JqProcessError('jq wrote output nobody asked for'));
        return;
      }
      batch.resolve(line);
    }
  }

  #fail(err: Error): void {
    if (this.#dead) return;
    this.#dead = err;
    for (const b of this.#queue.splice(0)) b.reject(err);
    if (this.child.exitCode === null && !this.child.killed) this.child.kill('SIGKILL');
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.stdin.end();
    await exited;
  }
}

/**
 * A pool of jq processes running the same program. Batches go to the least busy process; a process that dies is
 * replaced and its batch retried once on the new one.
 */
export class JqPool {
  readonly #procs: JqProcess[] = [];
  #closed = false;

  constructor(
    readonly program: string,
    readonly size: number,
  ) {
    for (let i = 0; i < size; i++) this.#procs.push(new JqProcess(program));
  }

  /**
   * Runs the batch program on items: sends them as one JSON array line and resolves with the
   * per-item results, exactly one per item, in order.
   */
  async map(items: unknown[]): Promise<unknown[]> {
    if (items.length === 0) return [];
    // One stringify of the whole batch: no per-item strings for the GC to collect.
    return this.#run(JSON.stringify(items), items.length);
  }

  async #run(line: string, count: number): Promise<unknown[]> {
    const items = { length: count };
    let out: string;
    try {
      out = await this.#pick().run(line, items.length);
    } catch (first) {
      if (this.#closed || !(first instanceof JqProcessError)) throw first;
      try {
        out = await this.#pick().run(line, items.length);
      } catch (second) {
        throw new JqProcessError(`jq failed twice on the same batch of ${items.length} items: ${(second as Error).message}`);
      }
    }
    const results = JSON.parse(out) as unknown[];
    if (!Array.isArray(results) || results.length !== items.length) {
      throw new JqProcessError(`jq returned ${Array.isArray(results) ? results.length : typeof results} results for ${items.length} items`);
    }
    return results;
  }

  #pick(): JqProcess {
    for (let i = 0; i < this.#procs.length; i++) {
      if (this.#procs[i]!.dead) this.#procs[i] = new JqProcess(this.program);
    }
    let best = this.#procs[0]!;
    for (const p of this.#procs) if (p.inFlight < best.inFlight) best = p;
    return best;
  }

  /** Process ids, for tests that kill one. */
  pids(): number[] {
    return this.#procs.map((p) => p.pid).filter((p): p is number => p !== undefined);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#procs.map((p) => p.close()));
  }
}
