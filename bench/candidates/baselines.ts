// The reference points plangate is judged against: the upstream alone, the Node proxy ceiling, and
// the express + http-proxy-middleware stack a developer would write by hand.
import { imageNodeFlags, launchNodeServer, tsEntry } from './launch.js';
import type { Candidate } from './types.js';

export const BENCH_PATH = '/articles/bench-article';

export const direct: Candidate = {
  name: 'direct',
  description: 'the upstream alone (node:http, fixed ~2 KB HTML page)',
  required: true,
  // The upstream is already running (every proxy needs it): measure it as it is.
  start: async (ctx) => ({ target: { url: `${ctx.upstreamUrl}${BENCH_PATH}`, headers: {} } }),
};

export const rawProxy: Candidate = {
  name: 'raw-proxy',
  description: 'node:http + http-proxy, keep-alive agent (the Node ceiling)',
  required: true,
  start: (ctx) => launchNodeServer(ctx, { name: 'raw-proxy', nodeArgs: [...imageNodeFlags(ctx.root), ...tsEntry('bench/candidates/raw-proxy-server.ts')], path: BENCH_PATH }),
};

export const expressHpm: Candidate = {
  name: 'express-hpm',
  description: 'express 5 + http-proxy-middleware, keep-alive agent',
  required: true,
  start: (ctx) => launchNodeServer(ctx, { name: 'express-hpm', nodeArgs: [...imageNodeFlags(ctx.root), ...tsEntry('bench/candidates/express-hpm-server.ts')], path: BENCH_PATH }),
};
