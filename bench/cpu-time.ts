// CPU time a process has used (user + system, all its threads, living and ended), read from
// /proc/<pid>/stat. Requests/s on two shared cores wander ±30 % between rounds; the CPU a server
// spends per request is the steadier referee when two variants are close (docs/performance.md).
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ: the unit of utime/stime on Linux

/** Seconds of CPU the process has used so far, or null when it cannot be read (not Linux, process gone). */
export function processCpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]); // field 14 of the whole line
    const stime = Number(fields[12]); // field 15
    return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / TICKS_PER_SECOND : null;
  } catch {
    return null;
  }
}

/** Microseconds of CPU per request between two readings, or null when either is missing. */
export function cpuUsPerRequest(before: number | null, after: number | null, requests: number): number | null {
  if (before === null || after === null || requests <= 0) return null;
  return ((after - before) * 1e6) / requests;
}
