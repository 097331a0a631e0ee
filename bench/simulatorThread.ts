/**
 * The Azure DevOps and Port simulators on a thread of their own: they stand in for remote services, so a benchmark of
 * the worker must not have them share its event loop (on one thread they take half of what the worker measures).
 *
 *   const sims = await startSimulatorThread({ ado: {...AdoSimulatorOptions}, port: {...} });
 *   sims.orgUrl, sims.pat, sims.port.{url,clientId,clientSecret}; await sims.adoRequests(); await sims.close();
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { startAdoSimulator, type AdoSimulatorOptions } from '../test/simulators/ado/index.js';
import { startPortSimulator, type PortSimulatorOptions } from '../test/simulators/port/index.js';

export interface SimulatorThread {
  orgUrl: string;
  pat: string;
  port: { url: string; clientId: string; clientSecret: string };
  /** Requests the Azure DevOps simulator has served so far. */
  adoRequests(): Promise<number>;
  close(): Promise<void>;
}

type Request = { id: number; op: 'requests' | 'close' };
type Started = { orgUrl: string; pat: string; port: SimulatorThread['port'] };

export function startSimulatorThread(options: { ado: AdoSimulatorOptions; port?: PortSimulatorOptions }): Promise<SimulatorThread> {
  const worker = new Worker(new URL(import.meta.url), { workerData: options });
  let seq = 0;
  const replies = new Map<number, (value: number) => void>();
  const call = (op: Request['op']) =>
    new Promise<number>((resolve) => {
      const id = ++seq;
      replies.set(id, resolve);
      worker.postMessage({ id, op } satisfies Request);
    });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (started: Started) => {
      worker.on('message', (m: { id: number; value: number }) => replies.get(m.id)?.(m.value));
      resolve({
        ...started,
        adoRequests: () => call('requests'),
        close: async () => {
          await call('close');
          await worker.terminate();
        },
      });
    });
  });
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const options = workerData as { ado: AdoSimulatorOptions; port?: PortSimulatorOptions };
  const ado = await startAdoSimulator(options.ado);
  const catalog = await startPortSimulator(options.port);
  port.on('message', (m: Request) => {
    if (m.op === 'requests') port.postMessage({ id: m.id, value: ado.requests.length });
    else void Promise.all([ado.close(), catalog.close()]).then(() => port.postMessage({ id: m.id, value: 0 }));
  });
  port.postMessage({ orgUrl: ado.orgUrl(), pat: ado.pat, port: { url: catalog.url, clientId: catalog.clientId, clientSecret: catalog.clientSecret } } satisfies Started);
}
