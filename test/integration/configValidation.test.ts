import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'ado-sync-config-'));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const GOOD = `resources:
  - kind: project
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"azureDevopsProject"'
`;

describe('ado-sync validate', () => {
  it('accepts the default config', async () => {
    const r = await runCli(['validate']);
    expect(r.stderr).toContain('valid, 9 resources');
    expect(r.code).toBe(0);
  });

  it('names file and line of a YAML syntax error and exits 2', async () => {
    const path = file('syntax.yml', GOOD.replace("query: 'true'", "query: 'true"));
    const r = await runCli(['validate', '--config', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${path}:\\d+: YAML syntax error`));
  });

  it('names an unknown kind with its line and lists the valid kinds', async () => {
    const path = file('kind.yml', GOOD.replace('kind: project', 'kind: projekt'));
    const r = await runCli(['validate', '--config', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${path}:2 resources[0] (kind "projekt") kind: unknown kind "projekt" (did you mean "project"?); valid kinds: project, repository, `);
    expect(r.stderr).toMatch(/valid kinds: .*pull-request/);
  });

  it('names an unknown selector option with its line and lists the valid options', async () => {
    const path = file('option.yml', GOOD.replace("query: 'true'", "query: 'true'\n      defaultTeems: true"));
    const r = await runCli(['validate', '--config', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${path}:5 resources[0] (kind "project") selector.defaultTeems: unknown selector option "defaultTeems"; valid options for project: query, defaultTeam`);
  });

  it('names a bad jq expression with its line, field and the jq message', async () => {
    const path = file('jq.yml', GOOD.replace("blueprint: '\"azureDevopsProject\"'", "blueprint: '\"azureDevopsProject\"'\n          title: .name | nosuchfn"));
    const r = await runCli(['validate', '--config', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${path}:10 resources[0] (kind "project") port.entity.mappings.title: jq expression ".name | nosuchfn" does not compile: nosuchfn/0 is not defined`);
  });

  it('says an incomplete jq expression ends too early, in the words of a YAML file, not of a shell (every time)', async () => {
    const path = file('jq-end.yml', GOOD.replace("blueprint: '\"azureDevopsProject\"'", "blueprint: '\"azureDevopsProject\"'\n          title: '.name |'\n          team: .id bar"));
    // jq stops before reading its input: an input written to its stdin used to fail with EPIPE instead, now and then.
    for (let i = 0; i < 3; i++) {
      const r = await runCli(['validate', '--config', path]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${path}:10 resources[0] (kind "project") port.entity.mappings.title: jq expression ".name |" does not compile: syntax error: the expression ends too early`);
      expect(r.stderr).toContain('port.entity.mappings.team: jq expression ".id bar" does not compile: syntax error, unexpected IDENT');
      expect(r.stderr).not.toContain('Unix shell');
      expect(r.stderr).not.toContain('EPIPE');
    }
  });

  it('reports a wrong selector option type and a missing mapping key', async () => {
    const path = file('types.yml', GOOD.replace("query: 'true'", "query: 'true'\n      defaultTeam: maybe").replace("          blueprint: '\"azureDevopsProject\"'\n", ''));
    const r = await runCli(['validate', '--config', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('selector.defaultTeam: must be boolean');
    expect(r.stderr).toContain('missing required key "blueprint"');
  });

  it('says so when the file does not exist', async () => {
    const r = await runCli(['validate', '--config', join(dir, 'nope.yml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nope.yml: cannot read the file: ENOENT');
  });
});
