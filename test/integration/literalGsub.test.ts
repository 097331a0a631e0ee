import { execFileSync } from 'node:child_process';
import { parseAppConfig } from '../../src/config/appConfig.js';
import { compileResource } from '../../src/mapping/compile.js';
import { rewriteLiteralGsub } from '../../src/mapping/literalGsub.js';

const JQ = process.env.JQ_PATH ?? '/usr/bin/jq';

/** Each input through `expr` with the jq CLI; an error becomes `{"error": message}` so it can be compared too. */
function runJq(expr: string, inputs: unknown[]): unknown[] {
  const program = `[ .[] | try (${expr}) catch {"error": .} ]`;
  return JSON.parse(execFileSync(JQ, ['-c', program], { input: JSON.stringify(inputs) }).toString()) as unknown[];
}

describe('literal gsub rewrite', () => {
  it.each([
    ['.id | gsub(" "; "")'],
    ['.url|gsub("_apis/projects/";"")'],
    ['.name | gsub( "aa" ; "b" ) | ascii_downcase'],
    ['"x" + (.a | gsub("é"; "\\n\\"q"))'],
  ])('rewrites %s to split/join', (expr) => {
    const out = rewriteLiteralGsub(expr);
    expect(out).toContain('split(');
    expect(out).not.toMatch(/^[^(]*gsub/); // the only gsub left is the guarded fallback
  });

  it.each([
    ['a regex pattern', '.id | gsub("\\\\s"; "")'],
    ['a metacharacter', '.id | gsub("a.b"; "")'],
    ['an empty pattern', '.id | gsub(""; "x")'],
    ['an interpolating replacement', '.id | gsub("a"; "\\(.x)")'],
    ['flags', '.id | gsub("a"; "b"; "g")'],
    ['a call inside a string', '"gsub(\\"a\\"; \\"b\\")"'],
    ['a comment', '.id # gsub("a"; "b")'],
    ['a function definition', 'def f: .; .id | gsub("a"; "b")'],
    ['another function named like it', '.id | mygsub("a"; "b")'],
    ['a variable', '$gsub'],
  ])('leaves alone %s', (_what, expr) => {
    expect(rewriteLiteralGsub(expr)).toBe(expr);
  });

  it('gives what gsub gives, errors included, for strings, edge cases and non-strings (real jq)', () => {
    const strings = ['', ' ', 'a b c', '  lead and trail  ', 'aaaa', 'abab', 'no match', 'héllo wörld', 'x\u0000 y', 'é é', 'a\nb'];
    const inputs = [...strings, null, 1, true, ['a b'], { a: 'b c' }];
    const pairs: Array<[string, string]> = [
      [' ', ''],
      [' ', '-'],
      ['aa', 'b'],
      ['ab', 'ba'],
      ['é', 'e'],
      [' ', '\\n'],
      ['_apis/projects/', ''],
    ];
    for (const [pattern, replacement] of pairs) {
      const original = `gsub("${pattern}"; "${replacement}")`;
      const rewritten = rewriteLiteralGsub(original);
      expect(rewritten).not.toBe(original);
      expect({ pattern, replacement, out: runJq(rewritten, inputs) }).toEqual({ pattern, replacement, out: runJq(original, inputs) });
    }
  });

  it('applies to the program jq runs, while reports keep the expression as written', () => {
    const yaml = `resources:
  - kind: project
    selector:
      query: '.name | gsub(" "; "") | length > 0'
    port:
      entity:
        mappings:
          identifier: .id | gsub(" "; "")
          blueprint: '"azureDevopsProject"'
`;
    const compiled = compileResource(parseAppConfig(yaml, 'inline.yml').config.resources[0]!);
    expect(compiled.fields[0]!.expr).toBe('.id | gsub(" "; "")');
    expect(compiled.query).toBe('.name | gsub(" "; "") | length > 0');
    expect(compiled.batchProgram).not.toContain('.id | gsub(');
    expect(compiled.batchProgram).not.toContain('.name | gsub(');
    const out = JSON.parse(execFileSync(JQ, ['-c', compiled.batchProgram], { input: JSON.stringify([{ id: 'a b', name: 'x y' }, { id: 5, name: 'n' }]) }).toString());
    expect(out[0]).toEqual([[['ab'], ['azureDevopsProject']]]);
    expect(out[1][0][0]).toEqual({ e: 'number (5) cannot be matched, as it is not a string' });
  });
});
