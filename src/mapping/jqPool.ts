import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { jqEnvironment, jqPath } from './jqBinary.js';

/** A jq process died (or could not start) while mapping. */
export class JqProcessError extends Error {
  override name = 'JqProcessError';
}

interface Batch {
  count: number;
  out: string[];
  resolve: (lines: string[]) => void;
  reject: (err: Error) => void;
}

/** One long-lived `jq -c --unbuffered PROGRAM` reading NDJSON on stdin and writing one line per input. */
class JqProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly #queue: Batch[] = [];
  #partial = '';
  #stderr = '';
  #dead: Error | undefined;
  inFlight = 0;

  constructor(program: string) {
    this.child = spawn(jqPath(), ['-c', '--unbuffered', program], { env: jqEnvironment(), stdio: ['pipe', 'pipe', 'pipe'] });
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

  async run(lines: string[]): Promise<string[]> {
    if (this.#dead) throw this.#dead;
    const done = new Promise<string[]>((resolve, reject) => {
      this.#queue.push({ count: lines.length, out: [], resolve, reject });
    });
    this.inFlight += lines.length;
    try {
      if (!this.child.stdin.write(lines.join('\n') + '\n')) await Promise.race([once(this.child.stdin, 'drain'), done]);
      return await done;
    } finally {
      this.inFlight -= lines.length;
    }
  }

  #onData(chunk: string): void {
    const text = this.#partial + chunk;
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      const batch = this.#queue[0];
      if (!batch) {
        this.#fail(new JqProcessError('jq wrote output nobody asked for'));
        return;
      }
      batch.out.push(line);
      if (batch.out.length === batch.count) {
        this.#queue.shift();
        batch.resolve(batch.out);
      }
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

  /** Maps NDJSON lines; resolves with exactly one output line per input line, in order. */
  async run(lines: string[]): Promise<string[]> {
    if (lines.length === 0) return [];
    try {
      return await this.#pick().run(lines);
    } catch (first) {
      if (this.#closed || !(first instanceof JqProcessError)) throw first;
      try {
        return await this.#pick().run(lines);
      } catch (second) {
        throw new JqProcessError(`jq failed twice on the same batch of ${lines.length} items: ${(second as Error).message}`);
      }
    }
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
