import { createWriteStream, openSync, closeSync } from 'node:fs';
import type { Clock } from '../domain/clock.js';
import { createAuditLog, silentAudit, type AuditLog } from '../observability/audit.js';
import { writeLine } from '../observability/logger.js';

/** The audit log's destination on Node: stdout, nowhere, or a file opened for appending (checked at startup). */
export function nodeAuditLog(destination: string, clock: Clock): { audit: AuditLog; close(): Promise<void> } {
  if (destination === 'off') return { audit: silentAudit, close: async () => {} };
  if (destination === 'stdout') return { audit: createAuditLog(writeLine, clock), close: async () => {} };
  try {
    closeSync(openSync(destination, 'a'));
  } catch (error) {
    throw new Error(`CAPSULE_AUDIT_LOG: cannot open ${destination} for appending (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const stream = createWriteStream(destination, { flags: 'a' });
  return {
    audit: createAuditLog((line) => stream.write(`${line}\n`), clock),
    close: () => new Promise<void>((resolve) => stream.end(resolve)),
  };
}
