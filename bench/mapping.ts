/**
 * Mapping throughput: the jq pool (1 and 2 processes) against `jq -c -f` over the same NDJSON, in one run. The pool
 * starts from parsed items, as the pipeline does, and sends jq only the keys the mapping reads (projection/); rows
 * with whole items show what that projection gains. The last row runs the `ado-sync map` command on the file, end to
 * end like the jq CLI row (process start included).
 * Usage: npm run bench:mapping [-- --items 20000 --rounds 3]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadAppConfig } from '../src/config/appConfig.js';
import { ResourceMapper } from '../src/mapping/engine.js';
import { jqPath } from '../src/mapping/jqBinary.js';
import { projectItem } from '../src/mapping/projection/project.js';
import { pullRequestPayload } from './prPayloads.js';

const { values } = parseArgs({ options: { items: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '3' } } });
const N = Number(values.items);
const ROUNDS = Number(values.rounds);

const config = loadAppConfig(resolve(import.meta.dirname, '../../mappings/port-app-config.yml')).config;
const resource = config.resources.find((r) => r.kind === 'pull-request')!;
const items = Array.from({ length: N }, (_, i) => pullRequestPayload(i));
const dir = mkdtempSync(join(tmpdir(), 'bench-mapping-'));
const ndjson = join(dir, 'prs.ndjson');
writeFileSync(ndjson, items.map((i) => JSON.stringify(i)).join('\n') + '\n');
const mapperForProgram = new ResourceMapper(resource, { poolSize: 1 });
const programFile = join(dir, 'mapping.jq');
writeFileSync(programFile, mapperForProgram.compiled.program);
await mapperForProgram.close();

/** One measurement: items/s, and CPU µs per item of the jq process(es) and of Node (undefined without /proc). */
interface Run {
  rate: number;
  jqCpu?: number;
  nodeCpu?: number;
}

const hasProc = existsSync('/proc/self/stat');
const CLK_TCK = 100; // Linux USER_HZ: the unit of /proc/<pid>/stat times
/** Fields of /proc/<pid>/stat after the command name: [11] utime, [12] stime, [13] cutime, [14] cstime. */
const statFields = (text: string) => text.slice(text.lastIndexOf(')') + 2).split(' ').map(Number);
const procCpu = (pid: number) => {
  const f = statFields(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return (f[11]! + f[12]!) / CLK_TCK;
};

async function cliRun(): Promise<Run> {
  const started = process.hrtime.bigint();
  // With /proc, a shell runs jq and then prints its own stat, whose cutime/cstime are the CPU time of the waited jq.
  const [cmd, args] = hasProc
    ? ['/bin/sh', ['-c', '"$0" -c -f "$1" "$2" > /dev/null && cat /proc/$$/stat', jqPath(), programFile, ndjson]]
    : [jqPath(), ['-c', '-f', programFile, ndjson]];
  const stat = await new Promise<string>((res, rej) => {
    let out = '';
    const child = spawn(cmd, args, { stdio: ['ignore', hasProc ? 'pipe' : openSync('/dev/null', 'w'), 'inherit'] });
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('close', (code) => (code === 0 ? res(out) : rej(new Error(`jq exited ${code}`))));
  });
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  if (!hasProc) return { rate: N / secs };
  const f = statFields(stat);
  return { rate: N / secs, jqCpu: (((f[13]! + f[14]!) / CLK_TCK) * 1e6) / N };
}

/** `ado-sync map` on the same file, end to end as a user runs it: Node's start, config check, the pool (default size). */
async function mapCommandRun(): Promise<Run> {
  const cli = resolve(import.meta.dirname, '../src/cli/main.js');
  const configFile = resolve(import.meta.dirname, '../../mappings/port-app-config.yml');
  const started = process.hrtime.bigint();
  await new Promise<void>((res, rej) => {
    const child = spawn(process.execPath, [cli, 'map', '--kind', 'pull-request', '--config', configFile, '--input', ndjson], {
      stdio: ['ignore', openSync('/dev/null', 'w'), 'inherit'],
      env: { PATH: process.env.PATH, JQ_PATH: jqPath() },
    });
    child.on('close', (code) => (code === 0 ? res() : rej(new Error(`ado-sync map exited ${code}`))));
  });
  return { rate: N / (Number(process.hrtime.bigint() - started) / 1e9) };
}

async function poolRun(size: number, projection = true): Promise<Run> {
  const mapper = new ResourceMapper(resource, { poolSize: size, projection });
  async function* pages() {
    for (let i = 0; i < N; i += 100) yield items.slice(i, i + 100);
  }
  const pids = mapper.pids();
  const jqBefore = hasProc ? pids.map(procCpu) : [];
  const nodeBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  let count = 0;
  for await (const page of mapper.mapPages(pages())) count += page.length;
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  const node = process.cpuUsage(nodeBefore);
  const jqSecs = hasProc ? pids.reduce((sum, pid, i) => sum + procCpu(pid) - jqBefore[i]!, 0) : undefined;
  await mapper.close();
  if (count !== N) throw new Error(`pool mapped ${count} of ${N}`);
  return { rate: N / secs, jqCpu: jqSecs === undefined ? undefined : (jqSecs * 1e6) / N, nodeCpu: (node.user + node.system) / N };
}

const projection = mapperForProgram.projection;
if (!projection) throw new Error('the pull-request mapping is expected to be projectable');
const kb = (list: unknown[]) => (list.reduce<number>((n, i) => n + JSON.stringify(i).length, 0) / list.length / 1024).toFixed(2);
console.log(
  `mapping benchmark: ${N} pull requests (${kb(items)} KB each, ${kb(items.slice(0, 1000).map((i) => projectItem(i, projection)))} KB as sent to the pool), default pull-request mapping, best of ${ROUNDS}, ${cpus().length} cores`,
);
// Rounds interleave the configurations, so load from other processes on a shared machine hits them alike.
const configs: Array<[string, () => Promise<Run>]> = [
  ['jq -c -f (CLI, one process)', cliRun],
  ['jq pool, 1 process', () => poolRun(1)],
  ['jq pool, 2 processes', () => poolRun(2)],
  ['jq pool, 1 process, whole items', () => poolRun(1, false)],
  ['jq pool, 2 processes, whole items', () => poolRun(2, false)],
  ['ado-sync map (command, end to end)', mapCommandRun],
];
const bestRuns = configs.map((): Run => ({ rate: 0 }));
const minOf = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));
for (let r = 0; r < ROUNDS; r++) {
  for (const [i, [, run]] of configs.entries()) {
    const got = await run();
    const b = bestRuns[i]!;
    // Best rate; lowest CPU per item (CPU time is less disturbed by other load, but not immune to it).
    bestRuns[i] = { rate: Math.max(b.rate, got.rate), jqCpu: minOf(b.jqCpu, got.jqCpu), nodeCpu: minOf(b.nodeCpu, got.nodeCpu) };
  }
}
const cli = bestRuns[0]!.rate;
const us = (v: number | undefined) => (v === undefined ? '      -' : v.toFixed(1).padStart(7));
console.log(`${''.padEnd(42)} ${'items/s'.padStart(7)}  ${'ratio'.padStart(9)}  jq CPU µs/item  Node CPU µs/item`);
configs.forEach(([name], i) => {
  const b = bestRuns[i]!;
  console.log(`${name.padEnd(42)} ${Math.round(b.rate).toString().padStart(7)}  ${(b.rate / cli).toFixed(2).padStart(5)}x CLI  ${us(b.jqCpu).padStart(14)}  ${us(b.nodeCpu).padStart(16)}`);
});
const one = bestRuns[1]!.rate;
const two = bestRuns[2]!.rate;
const command = bestRuns[5]!.rate;
console.log(
  `targets: pool(1) >= 1.0x CLI: ${one >= cli ? 'met' : 'NOT met'}; pool(2) >= 1.6x CLI: ${two >= 1.6 * cli ? 'met' : 'NOT met'}; ado-sync map >= 1.0x CLI (both end to end, startup included): ${command >= cli ? 'met' : 'NOT met'}`,
);
