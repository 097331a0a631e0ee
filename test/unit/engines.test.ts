/**
 * The image's Node and every locked runtime dependency agree: `npm ci` on the image's Node prints no EBADENGINE, and
 * the package's own `engines` still admits the Node 20 that CI runs on.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { ROOT } from '../helpers/cli.js';

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const imageNode = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(read('Dockerfile'))?.[1];
const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { dev?: boolean; engines?: { node?: string } }> };
const pkg = JSON.parse(read('package.json')) as { engines: { node: string } };

describe('engines', () => {
  it('the image runs a current LTS line (22 or 24)', () => {
    expect(['22', '24']).toContain(imageNode);
  });

  it("every runtime dependency's engines.node accepts the image's Node", () => {
    const node = `${imageNode}.0.0`;
    const refused = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && !p.dev && p.engines?.node && !semver.satisfies(node, p.engines.node))
      .map(([path, p]) => `${path} (${p.engines!.node})`);
    expect(refused).toEqual([]);
  });

  it('the package admits both the image\'s Node and the Node 20 this repository is tested on', () => {
    expect(semver.satisfies(`${imageNode}.0.0`, pkg.engines.node)).toBe(true);
    expect(semver.satisfies('20.20.2', pkg.engines.node)).toBe(true);
  });
});
