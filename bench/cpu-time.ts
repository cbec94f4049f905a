// CPU time a process has used (user + system, all its threads, living and ended), read from
// /proc/<pid>/stat. Requests/s on two shared cores wander ±30 % between rounds; the CPU a server
// spends per request is the steadier referee when two variants are close (docs/performance.md).
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ: the unit of utime/stime on Linux

/** The fields after the command name of /proc/<pid>/stat, or null. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/**
 * Seconds of CPU the process and its living children have used so far (a gateway with `--workers`
 * does its work in its children), or null when it cannot be read (not Linux, process gone).
 */
export function processCpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  const own = statFields(pid);
  if (own === null) return null;
  let ticks = 0;
  const add = (fields: string[]) => {
    const utime = Number(fields[11]); // field 14 of the whole line
    const stime = Number(fields[12]); // field 15
    if (Number.isFinite(utime) && Number.isFinite(stime)) ticks += utime + stime;
  };
  add(own);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === pid) continue;
    const fields = statFields(Number(entry));
    if (fields !== null && Number(fields[1]) === pid) add(fields); // field 4: the parent's pid
  }
  return ticks / TICKS_PER_SECOND;
}

/** Microseconds of CPU per request between two readings, or null when either is missing. */
export function cpuUsPerRequest(before: number | null, after: number | null, requests: number): number | null {
  if (before === null || after === null || requests <= 0) return null;
  return ((after - before) * 1e6) / requests;
}
