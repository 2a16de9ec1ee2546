import { describe, expect, it } from 'vitest';
import { auditLine, plainAuditEvent, redactedAuditLine, type AuditEvent } from '../../src/observability/audit.js';
import { isoTimeSource } from '../../src/observability/iso-time.js';
import { createLogger, logLine, logsAt, plainLogFields, redactedLogLine, silentLogger, type LogFields } from '../../src/observability/logger.js';

const JWE = 'eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXYtaXYtaXYt.Y2lwaGVydGV4dA.dGFnLXRhZy10YWc';
const TIME = '2026-01-02T03:04:05.006Z';

describe('isoTimeSource', () => {
  it('gives what Date gives, for every millisecond, fraction, second boundary, step back and out-of-range time', () => {
    const times = [
      Date.UTC(2026, 0, 2, 3, 4, 5, 6), Date.UTC(2026, 0, 2, 3, 4, 5, 6) + 0.9, Date.UTC(2026, 0, 2, 3, 4, 5, 7),
      Date.UTC(2026, 0, 2, 3, 4, 5, 99), Date.UTC(2026, 0, 2, 3, 4, 5, 999) + 0.5, Date.UTC(2026, 0, 2, 3, 4, 6),
      Date.UTC(2026, 0, 2, 3, 4, 5, 10), Date.UTC(2025, 11, 31, 23, 59, 59, 999), 0, 0.4, 999.999, 1000,
      Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(10000, 0, 1), Date.UTC(12345, 5, 6), -1, -1000.5, Date.UTC(1969, 6, 20, 20, 17),
      8.64e15, -8.64e15,
    ];
    let now = 0;
    const time = isoTimeSource(() => now);
    for (const value of times) {
      now = value;
      expect(time(), String(value)).toBe(new Date(value).toISOString());
      expect(time(), `${value} again`).toBe(new Date(value).toISOString());
    }
    for (let ms = Date.UTC(2026, 0, 2); ms < Date.UTC(2026, 0, 2) + 2500; ms += 1.25) {
      now = ms;
      expect(time()).toBe(new Date(ms).toISOString());
    }
  });

  it('throws for an invalid time, as Date does', () => {
    expect(() => isoTimeSource(() => Number.NaN)()).toThrow(RangeError);
    expect(() => isoTimeSource(() => 8.64e15 + 1)()).toThrow(RangeError);
  });
});

describe('audit lines', () => {
  const plain: AuditEvent[] = [
    { event: 'mcp_request', route: '/mcp', request_id: 'k2j3-1a', status: 200, latency_ms: 3 },
    {
      event: 'mcp_request', route: '/mcp', request_id: 'r1', user: { sub: 'u1', email: 'a@example.com' }, client: { id: 'c1', name: 'Claude' },
      methods: ['initialize', 'tools/call'], tools: ['search', ''], status: 200, latency_ms: 0.5, outcome: 'allowed', reason: 'ok',
    },
    // Field order follows the event, however it was built.
    { status: 403, event: 'policy_denied', outcome: 'denied', reason: 'not in allowed_users', route: '/mcp' } as AuditEvent,
    { event: 'login', user: { email: 'a@example.com', sub: 'u1' }, client: { id: 'c1' } },
    { event: 'token_refused', status: 400, reason: undefined, client: { id: 'c1', name: undefined }, methods: [] },
    { event: 'consent', client: { id: 'c1', name: 'Tool "with" quotes \\ and \u2028 and \u0001' }, outcome: 'allowed' },
  ];

  it('writes an event that needs no redaction without copying it, byte for byte as the redacting path', () => {
    for (const event of plain) {
      expect(plainAuditEvent(event), JSON.stringify(event)).toBe(true);
      expect(auditLine(TIME, event)).toBe(redactedAuditLine(TIME, event));
    }
    expect(auditLine(TIME, plain[2]!)).toBe(
      '{"time":"2026-01-02T03:04:05.006Z","audit":true,"status":403,"event":"policy_denied","outcome":"denied","reason":"not in allowed_users","route":"/mcp"}',
    );
  });

  const redacted: Array<[string, AuditEvent]> = [
    ['a bearer value in the reason', { event: 'mcp_request', reason: 'upstream said Bearer abc.def', status: 401 }],
    ['a JWE in a tool name', { event: 'tool_denied', tools: ['ok', `run ${JWE}`] }],
    ['a JWE as a client name', { event: 'consent', client: { id: 'c1', name: JWE } }],
    ['a bearer value as a subject', { event: 'login', user: { sub: 'Bearer xyz' } }],
    ['a credential-named field', { event: 'token_issued', access_token: 'secret-value', client_secret: 's' } as unknown as AuditEvent],
    ['a credential-named member', { event: 'login', user: { sub: 'u1', password: 'hunter2' } } as unknown as AuditEvent],
    ['a nested credential in an unknown field', { event: 'http_request', extra: { Authorization: 'Basic Zm9v' } } as unknown as AuditEvent],
    ['an array-index field, which a spread puts first', { event: 'login', 7: 'x' } as unknown as AuditEvent],
    ['a time field, which takes the line time\'s place', { event: 'login', time: 'then', audit: false } as unknown as AuditEvent],
    ['an Error', { event: 'login', reason: new Error(`failed with Bearer ${JWE}`) } as unknown as AuditEvent],
    ['a Date', { event: 'login', route: new Date(0) } as unknown as AuditEvent],
    ['a class instance', { event: 'login', user: new (class { sub = 'u1'; })() } as unknown as AuditEvent],
  ];

  it.each(redacted)('takes the redacting path for %s, with the same line as before', (_name, event) => {
    expect(plainAuditEvent(event)).toBe(false);
    expect(auditLine(TIME, event)).toBe(redactedAuditLine(TIME, event));
  });

  it('never writes the secrets of those events', () => {
    const lines = redacted.map(([, event]) => auditLine(TIME, event)).join('\n');
    for (const secret of ['abc.def', JWE, 'xyz', 'secret-value', 'hunter2', 'Zm9v']) expect(lines).not.toContain(secret);
  });
});

describe('log lines', () => {
  const plain: LogFields[] = [
    {},
    { request_id: 'k2j3-1a', method: 'POST', path: '/mcp', status: 200, ms: 3 },
    { route: '/mcp', reason: 'invalid', detail: 'audience https://other.example/mcp', request_id: undefined },
    { ok: true, count: 0, ratio: Number.NaN, missing: null, text: 'quote " backslash \\ newline \n' },
  ];

  it('writes fields that need no redaction without copying them, byte for byte as the redacting path', () => {
    for (const fields of plain) {
      expect(plainLogFields(fields), JSON.stringify(fields)).toBe(true);
      expect(logLine(TIME, 'info', 'request', fields)).toBe(redactedLogLine(TIME, 'info', 'request', fields));
    }
    expect(logLine(TIME, 'warn', `token Bearer ${JWE}`, plain[1]!)).toBe(
      '{"time":"2026-01-02T03:04:05.006Z","level":"warn","msg":"token Bearer [redacted]","request_id":"k2j3-1a","method":"POST","path":"/mcp","status":200,"ms":3}',
    );
  });

  const redacted: Array<[string, LogFields]> = [
    ['a credential-named field', { refresh_token: 'rt-1', route: '/mcp' }],
    ['a credential-named field in another case', { 'X-Api-Key': 'k', Cookie: 'c=1' }],
    ['a bearer value in text', { detail: 'sent Bearer abc' }],
    ['a JWE in text', { capsule: JWE }],
    ['a nested object', { upstream: { access_token: 'at-1' } }],
    ['an array', { scopes: ['a', `Bearer q`] }],
    ['an Error', { error: new Error(`boom ${JWE}`) }],
    ['a field named like the line\'s own', { msg: 'other', level: 'x', time: 1 }],
    ['an array-index field', { 0: 'first', route: '/mcp' }],
    ['a __proto__ field', JSON.parse('{"__proto__":{"x":1},"route":"/mcp"}') as LogFields],
    ['a null-prototype object', Object.assign(Object.create(null) as LogFields, { route: '/mcp' })],
  ];

  it.each(redacted)('takes the redacting path for %s, with the same line as before', (_name, fields) => {
    expect(plainLogFields(fields)).toBe(false);
    expect(logLine(TIME, 'info', 'm', fields)).toBe(redactedLogLine(TIME, 'info', 'm', fields));
  });

  it('never writes the secrets of those fields', () => {
    const lines = redacted.map(([, fields]) => logLine(TIME, 'info', 'm', fields)).join('\n');
    for (const secret of ['rt-1', '"k"', 'c=1', 'abc', JWE, 'at-1', 'Bearer q']) expect(lines).not.toContain(secret);
  });

  it('tells callers which levels it writes, and writes nothing below its level', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', write: (line) => lines.push(line), clock: () => Date.UTC(2026, 0, 2, 3, 4, 5, 6) });
    expect((['debug', 'info', 'warn', 'error'] as const).map((level) => logsAt(logger, level))).toEqual([false, false, true, true]);
    logger.debug('d', { a: 1 });
    logger.info('i');
    logger.warn('w', { a: 1 });
    logger.error('e');
    expect(lines).toEqual([
      '{"time":"2026-01-02T03:04:05.006Z","level":"warn","msg":"w","a":1}',
      '{"time":"2026-01-02T03:04:05.006Z","level":"error","msg":"e"}',
    ]);
    expect(logsAt(silentLogger, 'error')).toBe(false);
    expect(logsAt({ debug() {}, info() {}, warn() {}, error() {} }, 'debug')).toBe(true);
  });
});
