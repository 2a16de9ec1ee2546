import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAuditLog } from '../../src/observability/audit.js';
import { nodeAuditLog } from '../../src/runtime/node-audit.js';

describe('audit log', () => {
  it('writes one JSON line per event with time and audit flag, redacting credential-named fields', () => {
    const lines: string[] = [];
    const audit = createAuditLog((line) => lines.push(line), () => Date.UTC(2026, 0, 2, 3, 4, 5));
    audit.record({ event: 'mcp_request', user: { sub: 'u1' }, route: '/mcp', status: 200, latency_ms: 3, reason: 'Bearer abc.def.ghi' });
    expect(lines).toHaveLength(1);
    const parsed = JSON.parse(lines[0]!);
    expect(parsed).toMatchObject({ time: '2026-01-02T03:04:05.000Z', audit: true, event: 'mcp_request', route: '/mcp', status: 200 });
    expect(parsed.reason).toBe('Bearer [redacted]');
  });

  it('appends to a file given by CAPSULE_AUDIT_LOG, and refuses one it cannot open', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'capsule-audit-')), 'audit.jsonl');
    const log = nodeAuditLog(path, Date.now);
    log.audit.record({ event: 'login', user: { sub: 'a' } });
    log.audit.record({ event: 'consent', outcome: 'allowed' });
    await log.close();
    const events = readFileSync(path, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(events.map((event) => event.event)).toEqual(['login', 'consent']);
    expect(() => nodeAuditLog('/nonexistent-dir/audit.jsonl', Date.now)).toThrow(/CAPSULE_AUDIT_LOG: cannot open/);
  });
});
