/**
 * The worker's own floor, without the catalog: every resource of a port-app-config fetched from an Azure DevOps
 * organization (pages read, decompressed and parsed as the worker does) and then fetched and mapped through the jq pool,
 * nothing written. The resync benchmark runs this as a child with the worker's NODE_OPTIONS against its simulator,
 * with no latency and every page in the response cache, so both passes are bound by this machine's CPU alone.
 *
 *   ADO_PERSONAL_ACCESS_TOKEN=... node dist/bench/pipelineFloor.js --config FILE --org-url URL [--flavor services]
 *
 * Prints one JSON line on stdout: `{"fetch": Pass, "map": Pass}`, where Pass is `{items, wallS, nodeCpuS, jqCpuS}`
 * (node: this process, every thread; jq: its reaped jq children).
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import type { AdoFlavor } from '../src/ado/orgUrl.js';
import { loadAppConfig, type ResourceConfig } from '../src/config/appConfig.js';
import { fetchKind, getKind } from '../src/kinds/registry.js';
import type { RawItem, Selector } from '../src/kinds/types.js';
import { ResourceMapper } from '../src/mapping/engine.js';
import { fetchContext } from './fetchContext.js';
import { cpuTimes } from './procStats.js';

const { values } = parseArgs({
  options: { config: { type: 'string' }, 'org-url': { type: 'string' }, flavor: { type: 'string', default: 'services' } },
});
const pat = process.env.ADO_PERSONAL_ACCESS_TOKEN;
if (!values.config || !values['org-url'] || !pat) {
  throw new Error('usage: ADO_PERSONAL_ACCESS_TOKEN=... pipelineFloor --config FILE --org-url URL [--flavor services]');
}
const resources = loadAppConfig(values.config).config.resources as ResourceConfig[];

interface Pass {
  items: number;
  wallS: number;
  nodeCpuS: number;
  jqCpuS: number;
}

/** Each resource in turn, as `resync` runs them by default; a fresh run cache per pass, as per resync. */
async function pass(consume: (resource: ResourceConfig, pages: AsyncIterable<RawItem[]>) => Promise<number>): Promise<Pass> {
  const { ctx, org } = fetchContext(values['org-url']!, pat!, values.flavor as AdoFlavor);
  const cpu0 = cpuTimes(process.pid) ?? { self: 0, children: 0 };
  const t0 = performance.now();
  let items = 0;
  for (const resource of resources) {
    const kind = getKind(resource.kind);
    if (!kind) throw new Error(`unknown kind ${resource.kind}`);
    items += await consume(resource, fetchKind(kind, ctx, resource.selector as Selector, org));
  }
  const wallS = (performance.now() - t0) / 1000;
  const cpu = cpuTimes(process.pid) ?? cpu0;
  return { items, wallS, nodeCpuS: cpu.self - cpu0.self, jqCpuS: cpu.children - cpu0.children };
}

const fetchOnly = await pass(async (_resource, pages) => {
  let n = 0;
  for await (const page of pages) n += page.length;
  return n;
});

const fetchAndMap = await pass(async (resource, pages) => {
  // Closed before the pass ends, so the jq processes' CPU is in this process's reaped-children time.
  const mapper = new ResourceMapper(resource, { poolSize: cpus().length });
  try {
    let n = 0;
    for await (const entities of mapper.mapPages(pages)) n += entities.length;
    return n;
  } finally {
    await mapper.close();
  }
});

process.stdout.write(`${JSON.stringify({ fetch: fetchOnly, map: fetchAndMap })}\n`);
