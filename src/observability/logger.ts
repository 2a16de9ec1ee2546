import type { LOG_LEVELS } from '../config/schema.js';
import { loggedError } from '../domain/errors.js';
import { isoTimeSource } from './iso-time.js';

export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** Whether lines of this level are written; read it through `logsAt`, as loggers made elsewhere may lack it. */
  enabled?(level: LogLevel): boolean;
}

/** Whether `logger` writes lines of `level`: checked before building fields that would only be dropped. */
export function logsAt(logger: Logger, level: LogLevel): boolean {
  return logger.enabled?.(level) ?? true;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

// Field names whose values are credentials wherever they appear.
const SECRET_FIELD = /(^|_|-)(token|secret|code|code_verifier|password|authorization|cookie|state|assertion|key|keys)$/i;
// A bearer value, a JWE/JWS compact serialization, or a long base64url run inside free text.
const SECRET_TEXT = /(Bearer\s+)[^\s"']+|\beyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*){1,4}/g;

/** Whether SECRET_TEXT could match: each of its forms starts with one of these literals. */
export function mayHoldSecretText(text: string): boolean {
  return text.includes('Bearer') || text.includes('eyJ');
}

function redactText(text: string): string {
  if (!mayHoldSecretText(text)) return text;
  return text.replace(SECRET_TEXT, (_match, bearer: string | undefined) => `${bearer ?? ''}[redacted]`);
}

/** Removes credentials from anything about to be logged; the log is the last place a secret could leak. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return redact(loggedError(value), depth + 1);
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    result[key] = SECRET_FIELD.test(key) && item !== undefined ? '[redacted]' : redact(item, depth + 1);
  }
  return result;
}

/**
 * The members of `fields` appended to `head` (the text of the first members, without braces),
 * as one JSON object: `{head,...fields}`.
 */
export function jsonAfter(head: string, fields: object): string {
  const rest = JSON.stringify(fields);
  return rest.length === 2 ? `{${head}}` : `{${head},${rest.slice(1)}`;
}

/**
 * Whether `fields` come out of `redact` unchanged and in the same place on the line, so the
 * line can be written without copying them: a plain object of strings without secret text,
 * numbers, booleans and nulls, under names that are not credential names, not array indexes
 * (a spread puts those first), not `__proto__` and not the line's own `time`, `level`, `msg`.
 */
export function plainLogFields(fields: LogFields): boolean {
  if (Object.getPrototypeOf(fields) !== Object.prototype) return false;
  for (const key in fields) {
    if (key === 'time' || key === 'level' || key === 'msg' || key === '__proto__' || isDigit(key.charCodeAt(0)) || SECRET_FIELD.test(key)) return false;
    const value = fields[key];
    if (typeof value === 'string') {
      if (mayHoldSecretText(value)) return false;
    } else if (!(typeof value === 'number' || typeof value === 'boolean' || value === undefined || value === null)) return false;
  }
  return true;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** The line for one entry, every field through `redact`. */
export function redactedLogLine(time: string, level: LogLevel, message: string, fields: LogFields): string {
  return JSON.stringify({ time, level, msg: redactText(message), ...(redact(fields) as LogFields) });
}

/** The same line as redactedLogLine, without copying fields that redaction leaves alone. */
export function logLine(time: string, level: LogLevel, message: string, fields: LogFields): string {
  if (!plainLogFields(fields)) return redactedLogLine(time, level, message, fields);
  return jsonAfter(`"time":"${time}","level":"${level}","msg":${JSON.stringify(redactText(message))}`, fields);
}

export interface LoggerOptions {
  level?: LogLevel;
  write?: (line: string) => void;
  clock?: () => number;
}

/** One JSON object per line, ready for any log shipper. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = RANK[options.level ?? 'info'];
  const write = options.write ?? writeLine;
  const time = isoTimeSource(options.clock ?? Date.now);
  const enabled = (level: LogLevel) => RANK[level] >= threshold;
  const ignore = () => {};
  // A filtered level gets a method that does nothing, decided once here.
  const emit = (level: LogLevel) =>
    enabled(level) ? (message: string, fields: LogFields = {}) => write(logLine(time(), level, message, fields)) : ignore;
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error'), enabled };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, enabled: () => false };

type LineSink = { write(chunk: string): unknown };
type ExitHook = { once?(event: 'exit', listener: () => void): unknown };
const runtimeProcess = (globalThis as { process?: { stdout?: LineSink } & ExitHook }).process;

/** Lines are written together once this many characters wait, or at the end of the event-loop turn. */
const BATCH_CHARS = 64 * 1024;

/**
 * Collects lines and writes them with one call per event-loop turn. Each write to a
 * file or pipe is a system call (Node makes them synchronous there); a proxied request
 * logs two lines, and writing them one by one cost a measurable share of the request.
 * Lines keep their order; whatever is pending is written when the process exits.
 */
export function batchedLineWriter(
  sink: LineSink,
  schedule: (flush: () => void) => void = (flush) => {
    // Looked up on the global, which Node, Bun and Deno have; a zero timeout elsewhere.
    const runtime = globalThis as { setImmediate?: (callback: () => void) => unknown };
    if (typeof runtime.setImmediate === 'function') runtime.setImmediate(flush);
    else setTimeout(flush, 0);
  },
): { write(line: string): void; flush(): void } {
  let pending = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending === '') return;
    const chunk = pending;
    pending = '';
    sink.write(chunk);
  };
  return {
    write(line) {
      pending += `${line}\n`;
      if (pending.length >= BATCH_CHARS) flush();
      else if (!scheduled) {
        scheduled = true;
        schedule(flush);
      }
    },
    flush,
  };
}

const stdoutLines = runtimeProcess?.stdout ? batchedLineWriter(runtimeProcess.stdout) : undefined;
if (stdoutLines) runtimeProcess?.once?.('exit', stdoutLines.flush);

/**
 * One line to standard output, batched per event-loop turn (see batchedLineWriter), through
 * process.stdout where the runtime has it (Node, Bun, Deno): console.log formats its
 * argument first and costs a measurable share of a proxied request.
 */
export const writeLine: (line: string) => void = stdoutLines ? stdoutLines.write : (line) => console.log(line);
