// Where the time goes in a V8 CPU profile (`node --cpu-prof`): self time by function and by file.
// Used by `npm run bench -- --cpu-prof <candidate>`; runs standalone on any .cpuprofile too:
// `npx tsx bench/profile-summary.ts <file.cpuprofile>`.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Percentages are of busy time: `(idle)` samples (waiting for I/O or for load) are left out. */
export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  /** Self time: the function itself, not what it called. */
  functions: { name: string; percent: number }[];
  /** Inclusive time of project and library functions: the function and everything it called (counted once per sample). */
  inclusive: { name: string; percent: number }[];
  files: { file: string; percent: number }[];
}

const shortUrl = (url: string) => url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules|src|bench)\//, '$1/') || '(native)';

const frameName = (frame: ProfileNode['callFrame']) => {
  const where = shortUrl(frame.url);
  return `${frame.functionName || '(anonymous)'} ${where}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
};

export function summarizeProfile(file: string, top = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const byFile = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') {
      idle += delta;
      return;
    }
    busy += delta;
    const name = frameName(frame);
    self.set(name, (self.get(name) ?? 0) + delta);
    byFile.set(shortUrl(frame.url), (byFile.get(shortUrl(frame.url)) ?? 0) + delta);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const callerFrame = byId.get(at)!.callFrame;
      // Inclusive time is listed for the project's and its libraries' code only: Node's event plumbing is in every stack.
      if (!/^(src|bench|node_modules)\//.test(shortUrl(callerFrame.url))) continue;
      const caller = frameName(callerFrame);
      if (seen.has(caller)) continue;
      seen.add(caller);
      inclusive.set(caller, (inclusive.get(caller) ?? 0) + delta);
    }
  });
  const rank = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, us]) => [key, Math.round((1000 * us) / busy) / 10] as const);
  return {
    totalMs: Math.round((busy + idle) / 1000),
    idleMs: Math.round(idle / 1000),
    functions: rank(self).map(([name, percent]) => ({ name, percent })),
    inclusive: rank(inclusive).map(([name, percent]) => ({ name, percent })),
    files: rank(byFile).map(([file, percent]) => ({ file, percent })),
  };
}

export function formatProfile(summary: ProfileSummary): string {
  return [
    `${summary.totalMs} ms sampled, ${summary.idleMs} ms idle; percentages of busy time. Self time by function:`,
    ...summary.functions.map((f) => `  ${f.percent.toFixed(1).padStart(5)} %  ${f.name}`),
    'inclusive time of project and library code (the function and its callees):',
    ...summary.inclusive.map((f) => `  ${f.percent.toFixed(1).padStart(5)} %  ${f.name}`),
    'self time by file:',
    ...summary.files.map((f) => `  ${f.percent.toFixed(1).padStart(5)} %  ${f.file}`),
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: npx tsx bench/profile-summary.ts <file.cpuprofile>');
    process.exit(2);
  }
  console.log(formatProfile(summarizeProfile(file)));
}
