import { describe, expect, it } from 'vitest';
import { batchedLineWriter } from '../../src/observability/logger.js';

function fixture() {
  const writes: string[] = [];
  const scheduled: Array<() => void> = [];
  const lines = batchedLineWriter({ write: (chunk) => writes.push(chunk) }, (flush) => scheduled.push(flush));
  return { writes, scheduled, lines };
}

describe('batchedLineWriter', () => {
  it('writes the lines of one turn with one call, in order, once the turn ends', () => {
    const { writes, scheduled, lines } = fixture();
    lines.write('{"a":1}');
    lines.write('{"b":2}');
    expect(writes).toEqual([]);
    expect(scheduled).toHaveLength(1);
    scheduled[0]!();
    expect(writes).toEqual(['{"a":1}\n{"b":2}\n']);
    lines.write('{"c":3}');
    expect(scheduled).toHaveLength(2);
    scheduled[1]!();
    expect(writes).toEqual(['{"a":1}\n{"b":2}\n', '{"c":3}\n']);
  });

  it('writes at once when 64 KB are waiting, and an explicit flush writes the rest', () => {
    const { writes, scheduled, lines } = fixture();
    const long = 'x'.repeat(40 * 1024);
    lines.write(long);
    expect(writes).toEqual([]);
    lines.write(long);
    expect(writes).toEqual([`${long}\n${long}\n`]);
    lines.write('tail');
    lines.flush();
    expect(writes[1]).toBe('tail\n');
    // The turn's scheduled flush finds nothing left and writes nothing.
    for (const flush of scheduled) flush();
    expect(writes).toHaveLength(2);
  });
});
