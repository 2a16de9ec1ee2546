import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { ENV_BINDINGS } from '../../src/config/env.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { generateMasterKey } from '../../src/crypto/keyring.js';

/**
 * The deployment examples in examples/ are configuration too: these tests keep them
 * loadable by the proxy and consistent with themselves, so they cannot drift.
 */

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const KUBERNETES = join(EXAMPLES, 'kubernetes');
const COMPOSE = join(EXAMPLES, 'docker-compose');

const KNOWN = new Map(ENV_BINDINGS.map((binding) => [binding.name, binding]));
/** Node's own variables, which the proxy does not read but the runtime does. */
const RUNTIME_VARIABLES = new Set(['NODE_ENV', 'NODE_OPTIONS']);
/** After closing, the CLI waits up to 2 s for stdout to drain before it exits (src/cli.ts). */
const EXIT_FLUSH_SECONDS = 2;

const isSecret = (name: string) => KNOWN.get(name)?.secret === true;

// ---------------------------------------------------------------- files and YAML

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

const yamlFiles = filesUnder(EXAMPLES).filter((file) => /\.ya?ml$/.test(file));

/** Every document of a YAML file; merge keys (`<<: *anchor`) resolved as Compose does. */
function readYamlDocuments(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { merge: true });
  if (!Array.isArray(docs)) return [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${relative(EXAMPLES, file)}: ${doc.errors[0]!.message}`);
  }
  return docs.map((doc) => doc.toJS() as unknown).filter((value) => value !== null && value !== undefined);
}

/** KEY=value lines, as Compose reads an env_file (comments and blank lines skipped, no interpolation). */
function readEnvFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const at = trimmed.indexOf('=');
    expect(at, `${file}: ${trimmed}`).toBeGreaterThan(0);
    env[trimmed.slice(0, at).trim()] = trimmed.slice(at + 1).trim().replace(/^(["'])(.*)\1$/, '$2');
  }
  return env;
}

// ---------------------------------------------------------------- configuration

type Source = 'inline' | 'configMap' | 'secret' | 'envFile';
interface EnvValue {
  readonly value: string;
  readonly source: Source;
}

/** A Redis URL without a password is wiring, not a secret, and may sit in plain configuration. */
function mayBeInline(name: string, value: string): boolean {
  if (name !== 'CAPSULE_REDIS_URL') return false;
  try {
    return new URL(value).password === '';
  } catch {
    return false;
  }
}

/** Every assignment counts, including ones a later source overrides: a secret must not sit in plain configuration at all. */
function expectKnownAndSecretsReferenced(assignments: readonly (readonly [string, EnvValue])[], secretSources: readonly Source[], where: string): void {
  const unknown = assignments.map(([name]) => name).filter((name) => !KNOWN.has(name) && !RUNTIME_VARIABLES.has(name));
  expect(unknown, `${where}: variables the proxy does not read (see ENV_BINDINGS)`).toEqual([]);
  const inline = assignments
    .filter(([name, { value, source }]) => isSecret(name) && !secretSources.includes(source) && !mayBeInline(name, value))
    .map(([name, { source }]) => `${name} (${source})`);
  expect(inline, `${where}: secrets must come from ${secretSources.join(' or ')}`).toEqual([]);
}

/** Stand-ins for the examples' secret placeholders: valid values of the right shape. */
function withFakeSecrets(env: ReadonlyMap<string, EnvValue>, secretSources: readonly Source[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, { value, source }] of env) {
    if (!isSecret(name) || !secretSources.includes(source) || name === 'CAPSULE_REDIS_URL') result[name] = value;
    else if (name === 'CAPSULE_KEYS') result[name] = `${generateMasterKey()},${generateMasterKey()}`;
    else result[name] = `fake-${name.toLowerCase()}-`.padEnd(48, 'x');
  }
  return result;
}

const noConfigFile = (path: string): string => {
  throw new Error(`the examples configure by environment only, not ${path}`);
};

function plainEnv(env: ReadonlyMap<string, EnvValue>): Record<string, string> {
  return Object.fromEntries([...env].map(([name, { value }]) => [name, value]));
}

function loadExample(env: Record<string, string>): Config {
  return loadConfig(env, noConfigFile).config;
}

/**
 * The example's configuration, loaded on first use: an invalid example then fails the tests
 * that read it, each with the proxy's own list of problems, instead of the whole file at collection.
 */
function exampleConfig(env: () => Record<string, string>): Config {
  let loaded: Config | undefined;
  return new Proxy({} as Config, { get: (_target, key) => (loaded ??= loadExample(env()))[key as keyof Config] });
}

/** The examples ship placeholders, never a usable key: copying one as is must fail loudly. */
function expectPlaceholderKeysRefused(env: Record<string, string>): void {
  let problems: readonly string[] = [];
  try {
    loadExample(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    problems = (error as ConfigError).problems;
  }
  expect(problems.some((problem) => problem.startsWith('CAPSULE_KEYS:'))).toBe(true);
}

/** `15s`, `1m30s`, `90` (Compose durations; a bare number is seconds here). */
function composeDurationSeconds(value: unknown): number {
  if (typeof value === 'number') return value;
  const text = String(value);
  if (/^\d+$/.test(text)) return Number(text);
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  let total = 0;
  const rest = text.replace(/(\d+(?:\.\d+)?)(ms|h|m|s)/g, (_match, amount: string, unit: string) => {
    total += Number(amount) * units[unit]!;
    return '';
  });
  expect(rest, `duration ${text}`).toBe('');
  return total;
}

// ================================================================= every file

describe('examples: YAML files', () => {
  it('finds the example files', () => {
    const names = yamlFiles.map((file) => relative(EXAMPLES, file));
    expect(names).toContain(join('docker-compose', 'compose.yaml'));
    expect(names.filter((name) => name.startsWith('kubernetes')).length).toBeGreaterThan(3);
  });

  it.each(yamlFiles.map((file) => [relative(EXAMPLES, file), file]))('%s parses', (_name, file) => {
    expect(readYamlDocuments(file).length).toBeGreaterThan(0);
  });
});

// ================================================================= Kubernetes

type Labels = Record<string, string>;
interface LabelSelector {
  matchLabels?: Labels;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: { name: string; key: string };
    secretKeyRef?: { name: string; key: string };
  };
}
interface ContainerPort {
  name?: string;
  containerPort: number;
}
interface Probe {
  httpGet?: { path: string; port: number | string };
}
interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[] };
}
interface Container {
  name: string;
  image: string;
  env?: EnvVar[];
  envFrom?: Array<{ prefix?: string; configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: ContainerPort[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
}
interface PodTemplate {
  metadata: { labels: Labels; annotations?: Record<string, string> };
  spec: { containers: Container[]; terminationGracePeriodSeconds?: number; securityContext?: SecurityContext };
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: Record<string, unknown>;
}
interface DeploymentSpec {
  replicas?: number;
  selector: LabelSelector;
  template: PodTemplate;
}
interface ServiceSpec {
  selector: Labels;
  ports: Array<{ name?: string; port: number; targetPort?: number | string }>;
}
interface IngressBackend {
  service: { name: string; port: { name?: string; number?: number } };
}
interface IngressSpec {
  tls?: Array<{ hosts?: string[]; secretName?: string }>;
  rules: Array<{ host?: string; http: { paths: Array<{ path: string; backend: IngressBackend }> } }>;
  defaultBackend?: IngressBackend;
}

const k8sFiles = readdirSync(KUBERNETES).filter((file) => /\.ya?ml$/.test(file) && !/^kustomization\.ya?ml$/.test(file));
const manifests = k8sFiles.flatMap((file) => readYamlDocuments(join(KUBERNETES, file)) as Manifest[]);
const ofKind = (kind: string) => manifests.filter((manifest) => manifest.kind === kind);
const named = (kind: string, name: string) => ofKind(kind).find((manifest) => manifest.metadata.name === name);

const deployments = ofKind('Deployment');
const deploymentSpec = (manifest: Manifest) => manifest.spec as unknown as DeploymentSpec;
const selects = (selector: Labels | undefined, labels: Labels) =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value);
const deploymentsSelectedBy = (selector: Labels | undefined) =>
  deployments.filter((deployment) => selects(selector, deploymentSpec(deployment).template.metadata.labels));

const proxyDeployments = deployments.filter((deployment) =>
  deploymentSpec(deployment).template.spec.containers.some((container) => container.image.includes('mcp-capsule')),
);
const proxy = proxyDeployments[0]!;
const proxySpec = deploymentSpec(proxy);
const proxyContainer = proxySpec.template.spec.containers.find((container) => container.image.includes('mcp-capsule'))!;

function k8sSource(kind: 'ConfigMap' | 'Secret', name: string): Record<string, string> {
  const manifest = named(kind, name);
  expect(manifest, `${kind} ${name} referenced by the Deployment exists`).toBeDefined();
  if (kind === 'Secret') {
    const decoded = Object.fromEntries(Object.entries(manifest!.data ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]));
    return { ...decoded, ...manifest!.stringData };
  }
  return manifest!.data ?? {};
}

/** The container's environment as Kubernetes assembles it: envFrom first, then env, later entries winning. */
function containerEnv(container: Container): Map<string, EnvValue> {
  return new Map(containerEnvAssignments(container));
}

function containerEnvAssignments(container: Container): Array<[string, EnvValue]> {
  const env = { entries: [] as Array<[string, EnvValue]>, set(name: string, value: EnvValue) { this.entries.push([name, value]); } };
  for (const from of container.envFrom ?? []) {
    const [kind, ref, source] = from.secretRef
      ? (['Secret', from.secretRef, 'secret'] as const)
      : (['ConfigMap', from.configMapRef!, 'configMap'] as const);
    for (const [key, value] of Object.entries(k8sSource(kind, ref.name))) env.set(`${from.prefix ?? ''}${key}`, { value: String(value), source });
  }
  for (const variable of container.env ?? []) {
    const { configMapKeyRef, secretKeyRef } = variable.valueFrom ?? {};
    if (secretKeyRef) env.set(variable.name, { value: k8sSource('Secret', secretKeyRef.name)[secretKeyRef.key]!, source: 'secret' });
    else if (configMapKeyRef) env.set(variable.name, { value: k8sSource('ConfigMap', configMapKeyRef.name)[configMapKeyRef.key]!, source: 'configMap' });
    else env.set(variable.name, { value: String(variable.value ?? ''), source: 'inline' });
  }
  return env.entries;
}

function containerPort(container: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return container.ports?.some((p) => p.containerPort === port) ? port : undefined;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

function preStopSeconds(container: Container): number {
  const preStop = container.lifecycle?.preStop;
  if (preStop?.sleep) return preStop.sleep.seconds;
  const command = preStop?.exec?.command.join(' ') ?? '';
  const match = /(?:^|\s)sleep\s+(\d+)\b/.exec(command);
  expect(match, 'a preStop sleep keeps the replica accepting while its endpoint is removed').not.toBeNull();
  return Number(match![1]);
}

describe('examples: Kubernetes', () => {
  const proxyEnv = containerEnv(proxyContainer);
  const config = exampleConfig(() => withFakeSecrets(proxyEnv, ['secret']));

  it('every manifest is namespace-less and listed in kustomization.yaml', () => {
    for (const manifest of manifests) {
      expect(manifest.apiVersion && manifest.kind && manifest.metadata?.name, JSON.stringify(manifest).slice(0, 80)).toBeTruthy();
      expect(manifest.metadata.namespace, `${manifest.kind} ${manifest.metadata.name}`).toBeUndefined();
    }
    const kustomization = parseYaml(readFileSync(join(KUBERNETES, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    expect([...kustomization.resources].sort()).toEqual([...k8sFiles].sort());
  });

  it('has one proxy Deployment with 3 replicas, whose selector matches its pods', () => {
    expect(proxyDeployments).toHaveLength(1);
    expect(proxySpec.replicas).toBe(3);
    for (const deployment of deployments) {
      const spec = deploymentSpec(deployment);
      expect(selects(spec.selector.matchLabels, spec.template.metadata.labels), `${deployment.metadata.name} selector`).toBe(true);
    }
  });

  it('sets only variables the proxy reads, and takes secrets from a Secret', () => {
    expectKnownAndSecretsReferenced(containerEnvAssignments(proxyContainer), ['secret'], 'proxy container');
    for (const name of ['CAPSULE_KEYS', 'CAPSULE_UPSTREAM_CLIENT_SECRET', 'CAPSULE_ADMIN_TOKEN']) {
      expect(proxyEnv.get(name)?.source, name).toBe('secret');
    }
  });

  it("ships placeholders the proxy refuses, not a usable key", () => {
    expectPlaceholderKeysRefused(plainEnv(proxyEnv));
  });

  it('is a valid configuration, listening where the kubelet and the Service can reach it', () => {
    expect(config.publicUrl.startsWith('https://')).toBe(true);
    expect(['0.0.0.0', '::']).toContain(config.host);
    expect(containerPort(proxyContainer, config.port), 'PORT is a declared containerPort').toBe(config.port);
    expect(config.trustProxyHops, 'the ingress controller is one hop').toBe(1);
    expect(config.redis.url).toBeDefined();
  });

  it('probes /readyz for readiness and /healthz for liveness, on the port the proxy listens on', () => {
    expect(proxyContainer.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(proxyContainer.livenessProbe?.httpGet?.path).toBe('/healthz');
    for (const probe of [proxyContainer.readinessProbe, proxyContainer.livenessProbe, proxyContainer.startupProbe]) {
      if (probe === undefined) continue;
      expect(['/healthz', '/readyz']).toContain(probe.httpGet?.path);
      expect(containerPort(proxyContainer, probe.httpGet?.port)).toBe(config.port);
    }
  });

  it('gives a stopping replica time for the preStop sleep and CAPSULE_SHUTDOWN_GRACE', () => {
    const period = proxySpec.template.spec.terminationGracePeriodSeconds ?? 30;
    expect(period).toBeGreaterThan(preStopSeconds(proxyContainer) + config.shutdownGrace + EXIT_FLUSH_SECONDS);
  });

  it('runs as a numeric non-root user with a read-only root filesystem and no capabilities', () => {
    const pod = proxySpec.template.spec.securityContext ?? {};
    const container = proxyContainer.securityContext ?? {};
    expect(container.runAsNonRoot ?? pod.runAsNonRoot).toBe(true);
    // The image's user is named ("node"): the kubelet can verify runAsNonRoot only with a numeric uid.
    expect(container.runAsUser ?? pod.runAsUser).toBeGreaterThan(0);
    expect(container.readOnlyRootFilesystem).toBe(true);
    expect(container.allowPrivilegeEscalation).toBe(false);
    expect(container.capabilities?.drop).toContain('ALL');
    for (const resource of ['cpu', 'memory']) {
      expect(proxyContainer.resources?.requests?.[resource], `requests.${resource}`).toBeDefined();
    }
    expect(proxyContainer.resources?.limits?.memory).toBeDefined();
  });

  it('annotates the metrics port for Prometheus when CAPSULE_METRICS_PORT is set', () => {
    const port = config.metrics.port;
    if (port === undefined) return;
    const annotations = proxySpec.template.metadata.annotations ?? {};
    expect(annotations['prometheus.io/scrape']).toBe('true');
    expect(annotations['prometheus.io/port']).toBe(String(port));
    expect(containerPort(proxyContainer, port)).toBe(port);
    expect(port).not.toBe(config.port);
  });

  it('every Service selects exactly one Deployment and targets one of its ports', () => {
    for (const service of ofKind('Service')) {
      const spec = service.spec as unknown as ServiceSpec;
      const selected = deploymentsSelectedBy(spec.selector);
      expect(selected.map((d) => d.metadata.name), `Service ${service.metadata.name}`).toHaveLength(1);
      const containers = deploymentSpec(selected[0]!).template.spec.containers;
      for (const port of spec.ports) {
        const target = port.targetPort ?? port.port;
        expect(containers.some((container) => containerPort(container, target) !== undefined), `Service ${service.metadata.name} port ${target}`).toBe(true);
      }
    }
    const proxyServices = ofKind('Service').filter((service) => deploymentsSelectedBy((service.spec as unknown as ServiceSpec).selector).includes(proxy));
    expect(proxyServices.length).toBeGreaterThan(0);
    for (const service of proxyServices) {
      for (const port of (service.spec as unknown as ServiceSpec).ports) {
        expect(containerPort(proxyContainer, port.targetPort ?? port.port), `Service ${service.metadata.name} reaches the proxy's PORT`).toBe(config.port);
      }
    }
  });

  it("points CAPSULE_REDIS_URL at a Redis Service of the example", () => {
    const url = new URL(config.redis.url!);
    const service = named('Service', url.hostname.split('.')[0]!);
    expect(service, `a Service named ${url.hostname}`).toBeDefined();
    const spec = service!.spec as unknown as ServiceSpec;
    const port = spec.ports.find((p) => p.port === Number(url.port || 6379));
    expect(port, `Service ${service!.metadata.name} port ${url.port || 6379}`).toBeDefined();
    const [redis] = deploymentsSelectedBy(spec.selector);
    const container = deploymentSpec(redis!).template.spec.containers.find((c) => containerPort(c, port!.targetPort ?? port!.port) !== undefined);
    expect(container?.image).toMatch(/redis|valkey/);
  });

  it('has a PodDisruptionBudget for the proxy that still lets a node drain', () => {
    const budgets = ofKind('PodDisruptionBudget').filter((pdb) =>
      deploymentsSelectedBy(((pdb.spec as { selector?: LabelSelector }).selector ?? {}).matchLabels).includes(proxy),
    );
    expect(budgets).toHaveLength(1);
    const spec = budgets[0]!.spec as { minAvailable?: number; maxUnavailable?: number };
    if (spec.minAvailable !== undefined) expect(spec.minAvailable).toBeLessThan(proxySpec.replicas!);
    if (spec.maxUnavailable !== undefined) expect(spec.maxUnavailable).toBeGreaterThan(0);
    expect(deploymentsSelectedBy(((budgets[0]!.spec as { selector: LabelSelector }).selector).matchLabels)).toEqual([proxy]);
  });

  it('routes the Ingress host, with TLS, to the proxy Service: the host of CAPSULE_PUBLIC_URL', () => {
    const ingresses = ofKind('Ingress');
    expect(ingresses.length).toBeGreaterThan(0);
    const publicHost = new URL(config.publicUrl).hostname;
    for (const ingress of ingresses) {
      const spec = ingress.spec as unknown as IngressSpec;
      const hosts = spec.rules.map((rule) => rule.host);
      expect(hosts).toContain(publicHost);
      const tlsHosts = (spec.tls ?? []).flatMap((tls) => tls.hosts ?? []);
      for (const host of hosts) expect(tlsHosts, `TLS for ${host}`).toContain(host);
      const backends = spec.rules.flatMap((rule) => rule.http.paths.map((path) => path.backend));
      for (const { service: ref } of backends) {
        const service = named('Service', ref.name);
        expect(service, `Service ${ref.name}`).toBeDefined();
        const ports = (service!.spec as unknown as ServiceSpec).ports;
        expect(ports.some((p) => (ref.port.name !== undefined ? p.name === ref.port.name : p.port === ref.port.number)), `${ref.name} port`).toBe(true);
        expect(deploymentsSelectedBy((service!.spec as unknown as ServiceSpec).selector)).toEqual([proxy]);
      }
    }
  });

  it('NetworkPolicies select pods that exist', () => {
    for (const policy of ofKind('NetworkPolicy')) {
      const spec = policy.spec as { podSelector: LabelSelector; ingress?: Array<{ from?: Array<{ podSelector?: LabelSelector }> }> };
      expect(deploymentsSelectedBy(spec.podSelector.matchLabels).length, `${policy.metadata.name} podSelector`).toBeGreaterThan(0);
      for (const from of (spec.ingress ?? []).flatMap((rule) => rule.from ?? [])) {
        if (from.podSelector) expect(deploymentsSelectedBy(from.podSelector.matchLabels).length, `${policy.metadata.name} from`).toBeGreaterThan(0);
      }
    }
  });
});

// ================================================================= Docker Compose

interface ComposeService {
  image?: string;
  build?: unknown;
  environment?: Record<string, string | number | boolean | null> | string[];
  env_file?: string | Array<string | { path: string }>;
  depends_on?: string[] | Record<string, unknown>;
  ports?: Array<string | { published?: string | number; target?: number }>;
  volumes?: Array<string | { source?: string; target?: string }>;
  stop_grace_period?: string | number;
  deploy?: { replicas?: number };
}

const compose = readYamlDocuments(join(COMPOSE, 'compose.yaml'))[0] as { services: Record<string, ComposeService> };
const services = compose.services;
const isProxyService = (service: ComposeService) => service.build !== undefined || (service.image ?? '').includes('mcp-capsule');
const proxyServices = Object.entries(services).filter(([, service]) => isProxyService(service));
const dependsOn = (service: ComposeService) => (Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {}));

function composeEnv(service: ComposeService): Map<string, EnvValue> {
  return new Map(composeEnvAssignments(service));
}

/** The example's env_file is `.env`, which users copy from `.env.example`: the example stands in for it. */
function composeEnvAssignments(service: ComposeService): Array<[string, EnvValue]> {
  const env = { entries: [] as Array<[string, EnvValue]>, set(name: string, value: EnvValue) { this.entries.push([name, value]); } };
  const envFiles = service.env_file === undefined ? [] : Array.isArray(service.env_file) ? service.env_file : [service.env_file];
  for (const entry of envFiles) {
    const path = typeof entry === 'string' ? entry : entry.path;
    const file = join(COMPOSE, path === '.env' ? '.env.example' : path);
    expect(existsSync(file), `${path} (or its .env.example)`).toBe(true);
    for (const [name, value] of Object.entries(readEnvFile(file))) env.set(name, { value, source: 'envFile' });
  }
  const environment = service.environment ?? {};
  const pairs = Array.isArray(environment)
    ? environment.map((item) => [item.split('=')[0]!, item.split('=').slice(1).join('=')] as const)
    : Object.entries(environment).map(([name, value]) => [name, value === null ? '' : String(value)] as const);
  for (const [name, value] of pairs) {
    // `${NAME}` is interpolated from .env by Compose: as good as the env file.
    env.set(name, { value, source: /^\$\{\w+\}$/.test(value) ? 'envFile' : 'inline' });
  }
  return env.entries;
}

/** The `reverse_proxy` upstreams of a Caddyfile, as host and port. */
function caddyUpstreams(caddyfile: string): Array<{ host: string; port: number }> {
  const line = /^\s*reverse_proxy\s+([^{\n]*)/m.exec(caddyfile);
  expect(line, 'a reverse_proxy directive').not.toBeNull();
  return line![1]!.trim().split(/\s+/).map((upstream) => {
    const [host, port] = upstream.replace(/^https?:\/\//, '').split(':');
    return { host: host!, port: Number(port ?? 80) };
  });
}

describe('examples: Docker Compose', () => {
  it('runs several proxy replicas', () => {
    const replicas = proxyServices.reduce((sum, [, service]) => sum + (service.deploy?.replicas ?? 1), 0);
    expect(replicas).toBeGreaterThanOrEqual(2);
  });

  describe.each(proxyServices)('%s', (name, service) => {
    const env = composeEnv(service);
    const config = exampleConfig(() => withFakeSecrets(env, ['envFile']));

    it('sets only variables the proxy reads, and keeps secrets in .env', () => {
      expectKnownAndSecretsReferenced(composeEnvAssignments(service), ['envFile'], name);
      expect(env.get('CAPSULE_KEYS')?.source).toBe('envFile');
    });

    it('ships placeholders the proxy refuses, not a usable key', () => {
      expectPlaceholderKeysRefused(plainEnv(env));
    });

    it('is a valid configuration that listens on every interface', () => {
      expect(['0.0.0.0', '::']).toContain(config.host);
    });

    it('reaches Redis by the name of a service of this file, and starts after it', () => {
      expect(config.redis.url).toBeDefined();
      const host = new URL(config.redis.url!).hostname;
      expect(services[host], `a service named ${host}`).toBeDefined();
      expect(services[host]!.image).toMatch(/redis|valkey/);
      expect(dependsOn(service)).toContain(host);
    });

    it('gives a stopping replica longer than CAPSULE_SHUTDOWN_GRACE', () => {
      expect(composeDurationSeconds(service.stop_grace_period ?? '10s')).toBeGreaterThan(config.shutdownGrace + EXIT_FLUSH_SECONDS);
    });
  });

  it('balances over every replica, on its PORT, checking /readyz, at the address of CAPSULE_PUBLIC_URL', () => {
    const balancers = Object.entries(services).filter(([, service]) =>
      (service.volumes ?? []).some((volume) => (typeof volume === 'string' ? volume : volume.target ?? '').includes('Caddyfile')),
    );
    expect(balancers).toHaveLength(1);
    const [lbName, lb] = balancers[0]!;
    const mount = (lb.volumes ?? []).map((volume) => (typeof volume === 'string' ? volume.split(':')[0]! : volume.source!)).find((source) => source.includes('Caddyfile'))!;
    const caddyfile = readFileSync(join(COMPOSE, mount), 'utf8');
    const upstreams = caddyUpstreams(caddyfile);
    expect(upstreams.map((upstream) => upstream.host).sort()).toEqual(proxyServices.map(([name]) => name).sort());
    expect(dependsOn(lb).sort()).toEqual(proxyServices.map(([name]) => name).sort());
    for (const [name, service] of proxyServices) {
      const { port } = loadExample(withFakeSecrets(composeEnv(service), ['envFile']));
      expect(upstreams.find((upstream) => upstream.host === name)?.port, `${name}'s PORT`).toBe(port);
    }
    expect(/^\s*health_uri\s+(\S+)/m.exec(caddyfile)?.[1]).toBe('/readyz');

    // With a loopback public URL, clients reach the balancer at the port it publishes.
    const publicUrl = new URL(loadExample(withFakeSecrets(composeEnv(proxyServices[0]![1]), ['envFile'])).publicUrl);
    if (['localhost', '127.0.0.1', '[::1]'].includes(publicUrl.hostname)) {
      const listen = /^(\S*?):?(\d+)?\s*\{/m.exec(caddyfile.replace(/^\s*#.*$/gm, '').trim());
      const caddyPort = listen?.[2] ?? '80';
      const published = (lb.ports ?? []).map((port) => (typeof port === 'string' ? port.split(':').slice(-2) : [String(port.published), String(port.target)]));
      expect(published.some(([host, container]) => host === (publicUrl.port || '80') && container === caddyPort), `${lbName} publishes ${publicUrl.port}`).toBe(true);
    }
  });
});
