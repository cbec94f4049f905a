// What a reload may not change in the gateway section: the listener address and the upstream the
// proxy was built for. One owner for the rule: the listener's swap refuses such a change, and the
// reloader (src/ops/reload-guard.ts) reports it with the rest of what cannot move at runtime.
import { isDeepStrictEqual } from 'node:util';
import type { GatewayModel } from './model.js';

/** The one wording of a refused change: what changed, why it cannot move, what to do. */
export function unreloadable(what: string, why: string): string {
  return `${what} changed: ${why}; restart plangate to apply it`;
}

export function gatewayChanges(running: GatewayModel | undefined, next: GatewayModel | undefined): string[] {
  if ((running === undefined) !== (next === undefined)) return [unreloadable('gateway', 'a gateway section cannot be added or removed by a reload')];
  if (running === undefined || next === undefined) return [];
  const problems: string[] = [];
  if (!isDeepStrictEqual(running.listen, next.listen)) problems.push(unreloadable('gateway.listen', 'listener addresses are not reloadable'));
  if (running.upstream !== next.upstream) problems.push(unreloadable('gateway.upstream', 'the upstream is fixed when the proxy starts'));
  if ((running.forwardAuth === undefined) !== (next.forwardAuth === undefined))
    problems.push(unreloadable('gateway.forwardAuth', 'the mode (standalone gateway or beside a proxy) is fixed at start'));
  return problems;
}

/** The listeners' swap: throws, naming the file, when `next` changes what a reload cannot move. */
export function refuseGatewayChanges(file: string, running: GatewayModel, next: GatewayModel): void {
  const refused = gatewayChanges(running, next);
  if (refused.length > 0) throw new Error(`${file}: ${refused.join('; ')} (the running config keeps serving)`);
}
