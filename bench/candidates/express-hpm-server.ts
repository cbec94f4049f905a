// What a developer would write by hand: express 5 + http-proxy-middleware with a keep-alive agent.
import http from 'node:http';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';

const app = express();
app.use(createProxyMiddleware({ target: process.env.BENCH_UPSTREAM, agent: new http.Agent({ keepAlive: true }) }));
app.listen(Number(process.env.BENCH_PORT), '127.0.0.1');

// Exit cleanly on the harness's SIGTERM, so a --cpu-prof profile gets written.
process.on('SIGTERM', () => process.exit(0));
