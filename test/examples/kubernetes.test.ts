// examples/kubernetes.yaml as Kubernetes would read it: valid YAML documents of the expected kinds,
// selectors that select the Deployment's pods, probes on the container port the image's ops
// listener uses, secrets from the manifest's Secret, the config mounted where the Dockerfile's CMD
// reads it, and that config (from the ConfigMap, with the Deployment's environment and the Secret's
// values) loaded and served: the probes' paths answer 200 on the ops port.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { parseAllDocuments } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { runGateway, type RunningServers } from '../../src/cli/run-gateway.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/ops/logger.js';
import { readDockerfile } from '../support/container-spec.js';
import { startJwksServer, type JwksServer } from '../support/jwks-server.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { startEchoUpstream, type EchoUpstream } from '../support/upstream.js';

const repo = resolve(import.meta.dirname, '../..');
const manifest = readFileSync(join(repo, 'examples/kubernetes.yaml'), 'utf8');
const image = readDockerfile(readFileSync(join(repo, 'Dockerfile'), 'utf8'));

// A loose view of the objects: the test fails on a missing field through the assertions below.
type Obj = Record<string, any>;

const docs = parseAllDocuments(manifest);
const objects: Obj[] = docs.map((d) => d.toJS() as Obj);
const ofKind = (kind: string) => {
  const found = objects.filter((o) => o.kind === kind);
  expect(found, `one ${kind}`).toHaveLength(1);
  return found[0];
};

let running: RunningServers | undefined;
let jwks: JwksServer | undefined;
let upstream: EchoUpstream | undefined;
let redis: RedisServerHandle | undefined;
afterAll(async () => {
  await running?.close();
  await jwks?.close();
  await upstream?.close();
  await redis?.stop();
});

describe('examples/kubernetes.yaml', () => {
  it('is valid YAML with a Secret, a ConfigMap, a Deployment, a Service and a PodDisruptionBudget', () => {
    for (const doc of docs) expect(doc.errors).toEqual([]);
    expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Secret', 'Service']);
    for (const o of objects) expect(o.apiVersion).toMatch(/^(v1|apps\/v1|policy\/v1)$/);
  });

  it('selects the pods, probes the ops port, pauses before stopping and takes its secrets from the Secret', () => {
    const deployment = ofKind('Deployment');
    const pod = deployment.spec.template;
    const labels: Record<string, string> = pod.metadata.labels;
    const selects = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
    expect(selects(deployment.spec.selector.matchLabels)).toBe(true);
    expect(selects(ofKind('Service').spec.selector)).toBe(true);
    const pdb = ofKind('PodDisruptionBudget');
    expect(selects(pdb.spec.selector.matchLabels)).toBe(true);
    expect(pdb.spec.maxUnavailable ?? deployment.spec.replicas - pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);

    const [container] = pod.spec.containers;
    const env: Obj[] = container.env;
    const literal = (name: string) => env.find((e) => e.name === name)?.value as string | undefined;
    const portNamed = (name: string | number) => (typeof name === 'number' ? name : container.ports.find((p: Obj) => p.name === name)?.containerPort);
    // The ops listener's port: the container's PLANGATE_OPS_PORT, or the image's.
    const opsPort = Number(literal('PLANGATE_OPS_PORT') ?? image.env.PLANGATE_OPS_PORT);
    for (const probe of [container.readinessProbe, container.livenessProbe]) {
      expect(probe.httpGet.path).toMatch(/^\//);
      expect(portNamed(probe.httpGet.port)).toBe(opsPort);
    }
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');

    // SIGTERM comes after the preStop pause; the grace period covers the pause and the drain deadline.
    const pause = Number(container.lifecycle.preStop.exec.command.at(-1));
    expect(pause).toBeGreaterThan(0);
    const drainS = Number(literal('PLANGATE_SHUTDOWN_TIMEOUT_MS') ?? 10_000) / 1000;
    expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThan(pause + drainS);
    expect(pod.spec.securityContext.runAsNonRoot).toBe(true);

    // Secrets from the Secret, every key it is asked for present; Redis among them, by URL.
    const secret = ofKind('Secret');
    const fromSecret = env.filter((e) => e.valueFrom?.secretKeyRef);
    expect(fromSecret.map((e) => e.name).sort()).toEqual(['PLANGATE_ANONYMOUS_ID_SECRET', 'REDIS_URL']);
    for (const e of fromSecret) {
      expect(e.valueFrom.secretKeyRef.name).toBe(secret.metadata.name);
      expect(Object.keys(secret.stringData)).toContain(e.valueFrom.secretKeyRef.key);
    }
    expect(secret.stringData.REDIS_URL).toMatch(/^rediss?:\/\//);

    // The config is mounted where the image's CMD reads it, from the ConfigMap.
    const configArg = [...image.entrypoint, ...image.cmd].find((a, i, all) => all[i - 1] === '--config')!;
    const mount = container.volumeMounts.find((m: Obj) => configArg.startsWith(`${m.mountPath}/`));
    expect(mount, `a volume mounted above ${configArg}`).toBeDefined();
    const volume = pod.spec.volumes.find((v: Obj) => v.name === mount.name);
    expect(volume.configMap.name).toBe(ofKind('ConfigMap').metadata.name);
    expect(Object.keys(ofKind('ConfigMap').data)).toContain(configArg.slice(mount.mountPath.length + 1));
  });

  it("serves the ConfigMap's config with the Deployment's environment: the probes' paths answer on the ops port", { timeout: 60_000 }, async () => {
    const deployment = ofKind('Deployment');
    const [container] = deployment.spec.template.spec.containers;
    const secret = ofKind('Secret');
    const dir = mkdtempSync(join(tmpdir(), 'plangate-k8s-'));
    const configArg = [...image.entrypoint, ...image.cmd].find((a, i, all) => all[i - 1] === '--config')!;
    const file = join(dir, configArg.split('/').at(-1)!);
    writeFileSync(file, ofKind('ConfigMap').data[configArg.split('/').at(-1)!]);

    // The pod's environment; what points at the cluster (Redis, the site, the identity provider) points here.
    const env: Record<string, string> = {};
    for (const e of container.env as Obj[]) env[e.name] = e.value ?? secret.stringData[e.valueFrom.secretKeyRef.key];
    const { publicKey } = await generateKeyPair('RS256', { extractable: true });
    jwks = await startJwksServer({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] });
    upstream = await startEchoUpstream();
    // Its own Redis: the config has no key prefix of its own, and tests touch no data they did not create.
    redis = await startRedisServer();
    env.REDIS_URL = redis.url;
    env.PLANGATE_UPSTREAM = upstream.url;
    env.PLANGATE_JWKS_URL = jwks.url;

    const model = await loadConfig(file, { env });
    expect(model.anonymousIds?.keys[0].secret).toBe(secret.stringData.PLANGATE_ANONYMOUS_ID_SECRET);
    running = await runGateway({
      model,
      env,
      logger: createLogger({ level: 'warn', destination: { write: () => {} } }),
      listen: { host: '127.0.0.1', port: 0 },
      ops: { host: '127.0.0.1', port: 0 },
      watch: false,
    });
    for (const probe of [container.readinessProbe, container.livenessProbe]) {
      const answer = await fetch(`${running.ops.url}${probe.httpGet.path}`);
      expect(answer.status, probe.httpGet.path).toBe(200);
    }
    expect((await fetch(`${running.gateway.url}/articles/a`)).status).toBe(200);
  });
});
