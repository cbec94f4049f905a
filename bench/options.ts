// Command-line options of `npm run bench`.
import { parseArgs } from 'node:util';

export interface BenchOptions {
  quick: boolean;
  soak: boolean;
  soakTarget: string;
  only: string[] | null;
  rounds: number;
  durationS: number;
  warmupS: number;
  countStatuses: boolean;
  engine: boolean;
  /** A candidate to run under `node --cpu-prof`; its profile is summarized at the end. */
  cpuProf: string | null;
  /** Another checkout (built the same way): each chosen plangate candidate also runs from it, as `<name>@baseline`. */
  baseline: string | null;
  /** The burst mode instead of the wrk rounds: bursts doubling from `from` to `max` requests at once. */
  burst: { from: number; max: number } | null;
  /** The flood mode instead of the wrk rounds: this many cookie-less requests from one address. */
  flood: number | null;
}

export const USAGE = `npm run bench -- [options]
  --quick            2 rounds of 1 s and a shorter engine run (within a minute); does not write latest.json
  --soak             also run the soak: 1,000,000 requests, RSS after a 50,000-request warm-up and at the end
  --soak-target NAME the candidate to soak (default plangate-full)
  --only a,b,c       measure only these candidates (does not write latest.json)
  --rounds N         alternating rounds (default 5, quick 2)
  --duration S       seconds per candidate per round (default 5, quick 1)
  --count-statuses   count every non-2xx status with a wrk response() hook (slows wrk; default: wrk's own >= 400 count)
  --no-engine        skip the in-process engine benchmark
  --cpu-prof NAME    run candidate NAME (a Node server) under node --cpu-prof; profile in bench/results/profiles/
  --baseline DIR     also run each chosen plangate candidate from the checkout in DIR (e.g. a worktree
                     of the commit before a change), as NAME@baseline, in the same alternating rounds
  --burst            instead of the wrk rounds: the largest burst (requests sent at once, 10 per fresh
                     user against a meter of 3) one gateway and one decision-API process answer exactly,
                     and the time to answer it; with --baseline, the same bursts from DIR too
  --burst-from N     the first burst (default 100); each next one doubles
  --burst-max N      the largest burst tried (default 6400)
  --flood N          instead of the wrk rounds: N cookie-less requests from one address through one
                     gateway (new anonymous visitors), with 20 readers elsewhere; new ids, reads and
                     Redis's data growth; with --baseline, from DIR too`;

function positiveInt(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a whole number of at least 1, got "${value}"`);
  return n;
}

export function parseOptions(argv: readonly string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      soak: { type: 'boolean', default: false },
      'soak-target': { type: 'string', default: 'plangate-full' },
      only: { type: 'string' },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      'count-statuses': { type: 'boolean', default: false },
      'no-engine': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      baseline: { type: 'string' },
      burst: { type: 'boolean', default: false },
      'burst-from': { type: 'string' },
      'burst-max': { type: 'string' },
      flood: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const quick = values.quick;
  return {
    quick,
    soak: values.soak,
    soakTarget: values['soak-target'],
    only: values.only
      ? values.only
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : null,
    rounds: positiveInt(values.rounds, quick ? 2 : 5, '--rounds'),
    durationS: positiveInt(values.duration, quick ? 1 : 5, '--duration'),
    warmupS: quick ? 1 : 2,
    countStatuses: values['count-statuses'],
    engine: !values['no-engine'],
    cpuProf: values['cpu-prof'] ?? null,
    baseline: values.baseline ?? null,
    burst: values.burst ? { from: positiveInt(values['burst-from'], 100, '--burst-from'), max: positiveInt(values['burst-max'], 6_400, '--burst-max') } : null,
    flood: values.flood === undefined ? null : positiveInt(values.flood, 100_000, '--flood'),
  };
}
