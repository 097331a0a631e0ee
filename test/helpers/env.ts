import type { AdoSimulator } from '../simulators/ado/index.js';
import type { PortSimulator } from '../simulators/port/index.js';

/** Environment for a CLI process that syncs one simulated organization into the Port simulator. */
export function syncEnv(ado: AdoSimulator, port: PortSimulator, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ADO_ORGANIZATION_URL: ado.orgUrl(),
    ADO_PERSONAL_ACCESS_TOKEN: ado.pat,
    ADO_FLAVOR: 'services',
    PORT_CLIENT_ID: port.clientId,
    PORT_CLIENT_SECRET: port.clientSecret,
    PORT_BASE_URL: port.url,
    ...extra,
  };
}
