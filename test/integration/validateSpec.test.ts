import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'ado-sync-spec-'));

function file(name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

describe('ado-sync validate --spec', () => {
  it('prints the entities of a good spec, with its file:// references read from beside it, and exits 0', async () => {
    file('good/README.md', '# API\n');
    file('good/docs/openapi.json', '{"openapi": "3.0.0"}');
    const spec = file(
      'good/port.yml',
      `- identifier: api
  title: API
  blueprint: service
  properties:
    readme: file://README.md
    openapi: file:///docs/openapi.json
  relations:
    owners: [payments]
- identifier: api
  blueprint: library
`,
    );
    const r = await runCli(['validate', '--spec', spec]);
    expect(r.stdout).toBe('ok  service/api\nok  library/api\n');
    expect(r.stderr).toBe(`${spec}: 2 entities ok, 0 problems\n`);
    expect(r.code).toBe(0);
  });

  it('names FILE:LINE and the entity of each problem on stderr and exits 2', async () => {
    const spec = file(
      'bad/port.yml',
      `- identifier: ok
  blueprint: service
- title: no identifier
  blueprint: service
- identifier: api
  blueprint: service
  properties:
    readme: file://MISSING.md
    escape: file://../../../x
`,
    );
    const r = await runCli(['validate', '--spec', spec]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('ok  service/ok\n');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toEqual([
      `${spec}:3: #1: no identifier`,
      `${spec}:8: api: file://MISSING.md: /MISSING.md does not exist`,
      `${spec}:9: api: file://../../../x: climbs above the repository root`,
      `${spec}: 1 entity ok, 3 problems`,
    ]);
  });

  it('gives the line of a YAML syntax error', async () => {
    const spec = file('syntax/port.yml', 'identifier: a\nblueprint: b\nproperties:\n  x: [1, 2\n');
    const r = await runCli(['validate', '--spec', spec]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^${spec.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: YAML syntax error: `));
  });

  it('says so when the file does not exist, and documents the flag', async () => {
    const r = await runCli(['validate', '--spec', join(dir, 'nope.yml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --spec .*nope\.yml: no such file/);
    const help = await runCli(['validate', '--help']);
    expect(help.stdout).toMatch(/--spec FILE +check this GitOps spec file/);
  });
});
