import { describe, expect, it } from 'vitest';
import { createSseRewriter } from '../../src/mcp/inspection/sse-rewriter.js';
import type { SseRewriterOptions } from '../../src/mcp/inspection/sse-rewriter.js';
import { dec, enc, parseSse, run, splitAt } from './sse-helpers.js';

/** Upper-cases data that starts with "rewrite:"; leaves every other event alone. */
function upper(overrides: Partial<SseRewriterOptions> = {}) {
  const seen: string[] = [];
  const rewriter = createSseRewriter({
    rewriteData: (data) => {
      seen.push(data);
      return data.startsWith('rewrite:') ? data.toUpperCase() : undefined;
    },
    done: () => false,
    maxEventBytes: 1024,
    ...overrides,
  });
  return { rewriter, seen };
}

const STREAM = [
  '\uFEFF: keep-alive\r\n',
  '\r\n',
  'event: message\r\nid: 1\r\nretry: 500\r\ndata: untouched first\r\n\r\n',
  ': comment between events\n',
  'data: rewrite: one\ndata: two\n: inner comment\nid: 2\n\n',
  'data\n\n',
  'data:rewrite:no-space\r\rdata: cr only\r\r',
  'event: x\r\ndata: rewrite: crlf\r\ndata:  two spaces\r\n\r\n',
  'data: é ünïcödé rewrite:\n\n',
  'data: tail without blank line',
].join('');

const EXPECTED = [
  '\uFEFF: keep-alive\r\n',
  '\r\n',
  'event: message\r\nid: 1\r\nretry: 500\r\ndata: untouched first\r\n\r\n',
  ': comment between events\n',
  'data: REWRITE: ONE\ndata: TWO\n: inner comment\nid: 2\n\n',
  'data\n\n',
  'data: REWRITE:NO-SPACE\r\rdata: cr only\r\r',
  'event: x\r\ndata: REWRITE: CRLF\r\ndata:  TWO SPACES\r\n\r\n',
  'data: é ünïcödé rewrite:\n\n',
  'data: tail without blank line',
].join('');

describe('createSseRewriter', () => {
  it('rewrites only the events it is asked to, keeping fields, comments and line endings', () => {
    const { rewriter } = upper();
    expect(dec(run(rewriter, [enc(STREAM)]))).toBe(EXPECTED);
  });

  it('hands the joined data of each event to the rewrite (multi-line, empty, no space after colon)', () => {
    const { rewriter, seen } = upper();
    run(rewriter, [enc(STREAM)]);
    expect(seen).toEqual(['untouched first', 'rewrite: one\ntwo', '', 'rewrite:no-space', 'cr only', 'rewrite: crlf\n two spaces', 'é ünïcödé rewrite:']);
  });

  it('gives the same bytes wherever the stream is split in two', () => {
    const bytes = enc(STREAM);
    for (let at = 0; at <= bytes.length; at++) {
      const { rewriter } = upper();
      const out = dec(run(rewriter, splitAt(bytes, [at])));
      if (out !== EXPECTED) expect.fail(`split at byte ${at}: ${JSON.stringify(out)}`);
    }
  });

  it('gives the same bytes wherever it is split in three, and byte by byte', () => {
    const bytes = enc(STREAM);
    for (let a = 0; a <= bytes.length; a += 3) {
      for (let b = a; b <= bytes.length; b += 5) {
        const { rewriter } = upper();
        const out = dec(run(rewriter, splitAt(bytes, [a, b])));
        if (out !== EXPECTED) expect.fail(`split at ${a} and ${b}: ${JSON.stringify(out)}`);
      }
    }
    const { rewriter } = upper();
    const single = Array.from({ length: bytes.length }, (_, i) => bytes.slice(i, i + 1));
    expect(dec(run(rewriter, single))).toBe(EXPECTED);
  });

  it('leaves a stream with nothing to rewrite byte-identical, and a reference parser sees the same events', () => {
    const plain = STREAM.replaceAll('rewrite', 'keep');
    const { rewriter } = upper();
    const out = run(rewriter, [enc(plain)]);
    expect(dec(out)).toBe(plain);
    expect(parseSse(dec(out))).toEqual(parseSse(plain));
  });

  it('changes only the data of rewritten events for a reference parser', () => {
    const before = parseSse(STREAM);
    const after = parseSse(EXPECTED);
    expect(after.map((e) => [e.event, e.id, e.retry])).toEqual(before.map((e) => [e.event, e.id, e.retry]));
    expect(after.map((e) => e.data)).toEqual(before.map((e) => (e.data.startsWith('rewrite:') ? e.data.toUpperCase() : e.data)));
  });

  it('emits each event as soon as its blank line arrives, and comments before an event at once', () => {
    const { rewriter } = upper();
    expect(dec(concatAll(rewriter.push(enc(':\r\n'))))).toBe(':\r\n');
    expect(rewriter.push(enc('data: rewrite: a\n'))).toEqual([]);
    expect(dec(concatAll(rewriter.push(enc('\ndata: second'))))).toBe('data: REWRITE: A\n\n');
    expect(dec(concatAll(rewriter.push(enc('\n\n'))))).toBe('data: second\n\n');
  });

  it('keeps a CR at a chunk end and the LF that completes it together', () => {
    const { rewriter } = upper();
    const out1 = concatAll(rewriter.push(enc('data: rewrite: x\r\n\r')));
    expect(dec(out1)).toBe('data: REWRITE: X\r\n\r');
    // The LF completes the blank line's CRLF: no empty event, nothing held.
    const out2 = concatAll(rewriter.push(enc('\ndata: y\r\n\r\n')));
    expect(dec(out2)).toBe('\ndata: y\r\n\r\n');
  });

  it('passes an event over the bound unchanged, says so, and filters the next one', () => {
    const big = `data: rewrite: ${'x'.repeat(200)}\n\n`;
    const input = `${big}data: rewrite: small\n\n`;
    for (const chunks of [[enc(input)], splitAt(enc(input), [10, 40, 70, 100, 150])]) {
      const oversize: number[] = [];
      const { rewriter } = upper({ maxEventBytes: 64, onOversize: (bytes) => oversize.push(bytes) });
      expect(dec(run(rewriter, chunks))).toBe(`${big}data: REWRITE: SMALL\n\n`);
      expect(oversize).toHaveLength(1);
    }
  });

  it('never holds more than the bound plus one chunk', () => {
    const { rewriter } = upper({ maxEventBytes: 100 });
    let emitted = 0;
    let fed = 0;
    for (let i = 0; i < 50; i++) {
      const chunk = enc(i === 0 ? 'data: ' : 'y'.repeat(30));
      fed += chunk.length;
      emitted += concatAll(rewriter.push(chunk)).length;
      expect(fed - emitted).toBeLessThanOrEqual(100 + 30);
    }
  });

  it('passes everything through untouched once done', () => {
    let done = false;
    const rewriter = createSseRewriter({
      rewriteData: (data) => {
        done = true;
        return data.toUpperCase();
      },
      done: () => done,
      maxEventBytes: 1024,
    });
    const out = dec(run(rewriter, [enc('data: a\n\ndata: b\n\n'), enc('data: c\n\n')]));
    expect(out).toBe('data: A\n\ndata: b\n\ndata: c\n\n');
  });

  it('keeps events with invalid UTF-8 byte-identical', () => {
    const { rewriter } = upper();
    const bytes = new Uint8Array([...enc('data: rewrite: '), 0xff, ...enc('\n\n')]);
    expect([...run(rewriter, [bytes])]).toEqual([...bytes]);
  });
});

function concatAll(chunks: readonly Uint8Array[]): Uint8Array {
  const total = chunks.reduce((sum, c) => sum + c.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
