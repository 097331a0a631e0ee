/** Linux /proc readings shared by the benchmarks: memory and CPU time of a process, its threads and its children. */
import { readFileSync, readdirSync } from 'node:fs';

const CLK_TCK = 100;

/** Peak (VmHWM) and current (VmRSS) resident memory of a process in kB, or undefined once it is gone. */
export function readStatus(pid: number): { hwm: number; rss: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0);
    return { hwm: kb('VmHWM'), rss: kb('VmRSS') };
  } catch {
    return undefined;
  }
}

/**
 * utime+stime and cutime+cstime (reaped children) of a process, in seconds; with `thread`, of that thread only (the
 * main thread's id is the process id).
 */
export function cpuTimes(pid: number, thread?: number): { self: number; children: number } | undefined {
  try {
    const stat = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    // Fields after the command: state(0) ... utime(11) stime(12) cutime(13) cstime(14).
    return { self: ((f[11] ?? 0) + (f[12] ?? 0)) / CLK_TCK, children: ((f[13] ?? 0) + (f[14] ?? 0)) / CLK_TCK };
  } catch {
    return undefined;
  }
}

/** Process ids of a process's children (every thread's). */
export function children(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const c = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (c) out.push(...c.split(/\s+/).map(Number));
    }
  } catch {
    /* gone */
  }
  return out;
}
