/**
 * Mapping throughput: the jq pool (1 and 2 processes) against `jq -c -f` over the same NDJSON, in one run. The pool
 * starts from parsed items, as the pipeline does, and sends jq only the keys the mapping reads (projection.ts); rows
 * with whole items show what that projection gains.
 * Usage: npm run bench:mapping [-- --items 20000 --rounds 3]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, openSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadAppConfig } from '../src/config/appConfig.js';
import { ResourceMapper } from '../src/mapping/engine.js';
import { jqPath } from '../src/mapping/jqBinary.js';
import { projectItem } from '../src/mapping/projection.js';
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

async function cliRate(): Promise<number> {
  const started = process.hrtime.bigint();
  await new Promise<void>((res, rej) => {
    const child = spawn(jqPath(), ['-c', '-f', programFile, ndjson], { stdio: ['ignore', openSync('/dev/null', 'w'), 'inherit'] });
    child.on('exit', (code) => (code === 0 ? res() : rej(new Error(`jq exited ${code}`))));
  });
  return N / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function poolRate(size: number, projection = true): Promise<number> {
  const mapper = new ResourceMapper(resource, { poolSize: size, projection });
  async function* pages() {
    for (let i = 0; i < N; i += 100) yield items.slice(i, i + 100);
  }
  const started = process.hrtime.bigint();
  let count = 0;
  for await (const page of mapper.mapPages(pages())) count += page.length;
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  await mapper.close();
  if (count !== N) throw new Error(`pool mapped ${count} of ${N}`);
  return N / secs;
}

const best = async (f: () => Promise<number>) => {
  let top = 0;
  for (let r = 0; r < ROUNDS; r++) top = Math.max(top, await f());
  return top;
};

const projection = mapperForProgram.projection;
if (!projection) throw new Error('the pull-request mapping is expected to be projectable');
const kb = (list: unknown[]) => (list.reduce<number>((n, i) => n + JSON.stringify(i).length, 0) / list.length / 1024).toFixed(2);
console.log(
  `mapping benchmark: ${N} pull requests (${kb(items)} KB each, ${kb(items.slice(0, 1000).map((i) => projectItem(i, projection)))} KB as sent to the pool), default pull-request mapping, best of ${ROUNDS}, ${cpus().length} cores`,
);
const cli = await best(cliRate);
const one = await best(() => poolRate(1));
const two = await best(() => poolRate(2));
const oneWhole = await best(() => poolRate(1, false));
const twoWhole = await best(() => poolRate(2, false));
const row = (name: string, rate: number) => console.log(`${name.padEnd(42)} ${Math.round(rate).toString().padStart(7)} items/s  ${(rate / cli).toFixed(2)}x CLI`);
row('jq -c -f (CLI, one process)', cli);
row('jq pool, 1 process', one);
row('jq pool, 2 processes', two);
row('jq pool, 1 process, whole items', oneWhole);
row('jq pool, 2 processes, whole items', twoWhole);
console.log(`targets: pool(1) >= 1.0x CLI: ${one >= cli ? 'met' : 'NOT met'}; pool(2) >= 1.6x CLI: ${two >= 1.6 * cli ? 'met' : 'NOT met'}`);
