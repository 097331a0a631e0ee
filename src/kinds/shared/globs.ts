/**
 * Repository path globs for the file and folder kinds: `*` and `?` stay within one path segment, `**` spans
 * segments, `[...]` is a character class. Paths are compared without their leading `/`.
 */
export function hasGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

/** A selector option holding one repository path or glob, or a list of them. */
export const PATHS_SCHEMA = {
  oneOf: [
    { type: 'string', minLength: 1 },
    { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
  ],
} as const;

/** `/a/b/` → `a/b`. */
export function trimPath(path: string): string {
  return path.replace(/^\/+/, '').replace(/\/+$/, '');
}

export function globToRegExp(pattern: string): RegExp {
  const p = trimPath(pattern);
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string;
    if (c === '*') {
      if (p[i + 1] === '*') {
        i++;
        if (p[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = p.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        const body = p.slice(i + 1, end).replace(/\\/g, '\\\\');
        re += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The folder before the first segment holding a glob character (`''` = the root), and whether the glob may span segments. */
export function globBase(pattern: string): { base: string; depth: number; deep: boolean } {
  const segments = trimPath(pattern).split('/');
  const first = segments.findIndex(hasGlob);
  const baseSegments = first < 0 ? segments.slice(0, -1) : segments.slice(0, first);
  const deep = pattern.includes('**') || (first >= 0 && first < segments.length - 1);
  return { base: baseSegments.join('/'), depth: segments.length, deep };
}
