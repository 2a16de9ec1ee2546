import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { createRequire } from 'node:module';
import type * as z from 'zod';
import { applyEnvAliases, bindingFor, configInputFromEnv, ENV_BINDINGS, type Env } from './env.js';
import { ProblemError } from '../domain/errors.js';
import { configSchema, type Config } from './schema.js';
import { requiredBy, settingsAt, unknownKeyProblem } from './unknown-keys.js';

/** The settings cannot be used; each problem names the setting (or variable) and what is wrong with it. */
export class ConfigError extends ProblemError {
  override readonly name = 'ConfigError';
  declare readonly code: 'invalid_configuration';
  declare readonly detail: string;

  constructor(
    readonly problems: readonly string[],
    cause?: unknown,
  ) {
    super('invalid_configuration', 'The configuration is invalid.', {
      detail: problems.join('; '),
      cause,
      message: `Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    });
  }
}

export interface LoadedConfig {
  readonly config: Config;
  /** Things worth saying at startup, such as obot variables read as ours. */
  readonly notes: readonly string[];
}

type Input = Record<string, unknown>;

const isPlainObject = (value: unknown): value is Input => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The file's settings, overridden by the environment's; lists are replaced, not merged. */
function overlay(base: unknown, top: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(top)) return top === undefined ? base : top;
  const merged: Input = { ...base };
  for (const [key, value] of Object.entries(top)) merged[key] = overlay(base[key], value);
  return merged;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let node = input;
  for (const segment of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<PropertyKey, unknown>)[segment];
  }
  return node;
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  if (issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined) {
    const variant = requiredBy(String(issue.path.at(-1)), settingsAt(configSchema, issue.path.slice(0, -1), input));
    return variant ? `is required for ${variant}` : 'is required';
  }
  if (issue.code === 'invalid_value' && 'values' in issue) return `must be one of ${(issue.values as unknown[]).join(', ')}`;
  // A tagged union's tag that names no variant (a route's `auth`).
  if (issue.code === 'invalid_union' && issue.discriminator !== undefined && 'options' in issue) {
    return `must be one of ${(issue.options ?? []).filter((option) => option !== undefined).join(', ')}`;
  }
  return issue.message;
}

/** `routes[1] (/mcp/gmail).auth`: a route is named by its path so operators find it in their file. */
function filePath(path: readonly PropertyKey[], input: unknown): string {
  let text = '';
  path.forEach((segment, index) => {
    if (typeof segment === 'number') {
      text += `[${segment}]`;
      if (path[index - 1] === 'routes') {
        const route = valueAt(input, path.slice(0, index + 1)) as { path?: unknown; url?: unknown } | undefined;
        const label = typeof route?.path === 'string' ? route.path : typeof route?.url === 'string' ? route.url : undefined;
        if (label) text += ` (${label})`;
      }
    } else text += text ? `.${String(segment)}` : String(segment);
  });
  return text || 'configuration';
}

/** One line per problem (per key, for unknown keys), each naming the environment variable or the config file field at fault. */
export function formatConfigIssues(error: z.ZodError, input: unknown, envInput: unknown = input): string[] {
  const source = (path: readonly PropertyKey[]) => {
    const binding = bindingFor(path);
    const fromEnv = binding !== undefined && (valueAt(envInput, binding.path) !== undefined || valueAt(input, binding.path) === undefined);
    return fromEnv ? { name: binding.name, variable: true } : { name: filePath(path, input), variable: false };
  };
  return error.issues.flatMap((issue) => {
    if (issue.code !== 'unrecognized_keys') return [`${source(issue.path).name}: ${describeIssue(issue, input)}`];
    const at = settingsAt(configSchema, issue.path, input);
    return issue.keys.map((key) => {
      // A variable holding several fields (CAPSULE_UPSTREAM_CLAIMS) is named, so the key is said too.
      const { name, variable } = source([...issue.path, key]);
      const several = variable && bindingFor([...issue.path, key])!.path.length <= issue.path.length;
      return `${name}: ${several ? `${key}: ` : ''}${unknownKeyProblem(key, at)}`;
    });
  });
}

export function parseConfig(input: unknown, envInput?: unknown): Config {
  // Parsed once per start: compiling zod's fast path for each object would cost more than it saves.
  const result = configSchema.safeParse(input, { jitless: true });
  if (!result.success) throw new ConfigError(formatConfigIssues(result.error, input, envInput));
  return result.data;
}

/** Loaded only for YAML files: the parser is a sizeable share of start-up time otherwise spent for nothing. */
function parseYaml(text: string): unknown {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml.parse(text);
}

export function readConfigFile(path: string, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): Input {
  let text: string;
  try {
    text = read(path);
  } catch (error) {
    throw new ConfigError([`CAPSULE_CONFIG: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`], error);
  }
  let parsed: unknown;
  try {
    parsed = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    // No cause: the parser's message goes on to quote the file, and the file holds secrets.
    throw new ConfigError([`CAPSULE_CONFIG: ${path} is not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}`]);
  }
  if (!isPlainObject(parsed)) throw new ConfigError([`CAPSULE_CONFIG: ${path} must hold an object of settings`]);
  return parsed;
}

const SINGLE_ROUTE_VARIABLES = ENV_BINDINGS.filter((binding) => binding.path[0] === 'routes').map((binding) => binding.name);

/** The settings of the file CAPSULE_CONFIG names, if it names one. */
export function configFileOf(env: Env, read?: (path: string) => string): Input | undefined {
  const path = env.CAPSULE_CONFIG?.trim();
  return path ? readConfigFile(path, read) : undefined;
}

/**
 * Environment variables (with obot aliases) over an optional config file, validated by the one schema.
 * `file` is the file's settings when the caller has read them already.
 */
export function loadConfig(env: Env, read?: (path: string) => string, file: Input | undefined = configFileOf(env, read)): LoadedConfig {
  const aliased = applyEnvAliases(env);
  const envInput = configInputFromEnv(aliased.env);
  if (file?.routes !== undefined && envInput.routes !== undefined) {
    const set = SINGLE_ROUTE_VARIABLES.filter((name) => aliased.env[name]?.trim());
    throw new ConfigError([`${set.join(', ')}: the config file declares routes; configure the MCP servers in one place, not both`]);
  }
  if (aliased.obotCallback) envInput.upstreamCallback = 'obot';
  const input = overlay(file ?? {}, envInput);
  let config: Config;
  try {
    config = parseConfig(input, envInput);
  } catch (error) {
    if (!(error instanceof ConfigError) || !aliased.obot || valueAt(input, ['publicUrl']) !== undefined) throw error;
    throw new ConfigError(error.problems.map((problem) => (problem.startsWith(`${PUBLIC_URL_VARIABLE}:`) ? OBOT_PUBLIC_URL_PROBLEM : problem)));
  }
  const ttlNote = accessTokenLifetimeNote(config.ttl.accessToken, valueAt(envInput, ACCESS_TTL_PATH) !== undefined ? ACCESS_TTL_VARIABLE : ACCESS_TTL_PATH.join('.'));
  return { config, notes: ttlNote === undefined ? aliased.notes : [...aliased.notes, ttlNote] };
}

const PUBLIC_URL_VARIABLE = bindingFor(['publicUrl'])!.name;

const OBOT_PUBLIC_URL_PROBLEM =
  `${PUBLIC_URL_VARIABLE}: is required. obot mcp-oauth-proxy derived its public URL from each request's Host header; ` +
  'mcp-capsule refuses to, because the issuer and the redirect URIs would then be whatever the caller puts in Host. ' +
  'Set it to the origin users reach the proxy at, such as https://mcp.example.com';

const ACCESS_TTL_PATH = ['ttl', 'accessToken'] as const;
const ACCESS_TTL_VARIABLE = bindingFor(ACCESS_TTL_PATH)!.name;

/**
 * mcp-remote, the stdio bridge many Claude Desktop and Cursor users run, refreshes whenever
 * under 60 s of a token are left and gives up after 20 token exchanges in 30 s: below 120 s
 * it refreshes around every call and soon stops working.
 */
export const MIN_CLIENT_FRIENDLY_ACCESS_TTL = 120;

export function accessTokenLifetimeNote(seconds: number, setting: string): string | undefined {
  if (seconds >= MIN_CLIENT_FRIENDLY_ACCESS_TTL) return undefined;
  return (
    `${setting} is ${seconds} s, under ${MIN_CLIENT_FRIENDLY_ACCESS_TTL} s: mcp-remote (the bridge many Claude Desktop and Cursor users run) ` +
    'refreshes whenever under 60 s are left and stops after 20 token exchanges in 30 s, so its users would be cut off after a few calls'
  );
}

export function loadConfigFromEnv(env: Env): Config {
  return loadConfig(env).config;
}
