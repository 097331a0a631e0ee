/**
 * `npm run demo`: starts the bundled Azure DevOps simulator on loopback and runs a dry-run of the default mapping
 * against it. Extra arguments go to `ado-sync dry-run` (e.g. `npm run demo -- --pretty --kinds project`).
 */
import { startAdoSimulator } from './simulators/ado/index.js';
import { main } from '../src/cli/main.js';

// Dates relative to today, so closed pull requests fall inside the default minTimeInDays window.
const sim = await startAdoSimulator({ referenceDate: new Date() });
process.stderr.write(`demo: Azure DevOps simulator at ${sim.orgUrl()} (dry-run, nothing is written anywhere)\n`);
process.env.ADO_ORGANIZATION_URL = sim.orgUrl();
process.env.ADO_PERSONAL_ACCESS_TOKEN = sim.pat;
process.env.ADO_FLAVOR = 'services';
try {
  process.exitCode = await main(['dry-run', ...process.argv.slice(2)]);
} finally {
  await sim.close();
}
