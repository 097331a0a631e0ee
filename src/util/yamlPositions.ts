import yaml from 'js-yaml';

/** Source lines of a YAML document's nodes, so errors can say `file:line` for any JSON path. */
export interface PositionNode {
  line: number; // 1-based
  entries?: Map<string, { keyLine: number; value: PositionNode }>;
  items?: PositionNode[];
  scalar?: unknown;
}

interface Frame {
  line: number;
  children: PositionNode[];
}

/** Parses YAML and records where every mapping key and sequence item starts. */
export function loadYamlWithPositions(text: string, filename: string): { data: unknown; positions: PositionNode | undefined } {
  const stack: Frame[] = [];
  let root: PositionNode | undefined;
  const data = yaml.load(text, {
    filename,
    listener(event, state) {
      if (event === 'open') {
        stack.push({ line: state.line + 1, children: [] });
        return;
      }
      const frame = stack.pop();
      if (!frame) return;
      const node: PositionNode = { line: frame.line };
      const result: unknown = state.result;
      if (Array.isArray(result)) node.items = frame.children;
      else if (result !== null && typeof result === 'object') {
        node.entries = new Map();
        for (let i = 0; i + 1 < frame.children.length; i += 2) {
          const keyNode = frame.children[i]!;
          const valueNode = frame.children[i + 1]!;
          node.entries.set(String(keyNode.scalar), { keyLine: keyNode.line, value: valueNode });
        }
      } else node.scalar = result;
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(node);
      else root = node;
    },
  });
  return { data, positions: root };
}

/** Line of the deepest node on `path` that exists (keys report the key's line). */
export function lineOf(positions: PositionNode | undefined, path: Array<string | number>): number | undefined {
  let node = positions;
  let line = node?.line;
  for (const seg of path) {
    if (!node) break;
    if (typeof seg === 'number' && node.items) {
      node = node.items[seg];
      if (node) line = node.line;
    } else if (node.entries) {
      const entry = node.entries.get(String(seg));
      if (!entry) break;
      line = entry.keyLine;
      node = entry.value;
    } else break;
  }
  return line;
}
