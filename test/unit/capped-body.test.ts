import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { declaresMoreThan, readCappedNode, readCappedStream } from '../../src/net/capped-body.js';

const bytes = (...values: number[]) => new Uint8Array(values);

/** A web stream that hands out the given chunks on demand and records what the reader did to it. */
function webStream(chunks: Uint8Array[]) {
  const seen = { pulls: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      seen.pulls++;
      const next = chunks.shift();
      if (next) controller.enqueue(next);
      else controller.close();
    },
    cancel() {
      seen.cancelled = true;
    },
    // No read ahead: a pull happens only when the reader asks for a chunk.
  }, { highWaterMark: 0 });
  return { stream, seen };
}

describe('declaresMoreThan', () => {
  it('is true only for a declared length above the cap', () => {
    expect(declaresMoreThan('11', 10)).toBe(true);
    expect(declaresMoreThan('10', 10)).toBe(false);
    expect(declaresMoreThan(null, 10)).toBe(false);
    expect(declaresMoreThan(undefined, 10)).toBe(false);
  });
});

describe('readCappedStream', () => {
  it('joins the chunks of a body within the cap, the cap itself included', async () => {
    const { stream, seen } = webStream([bytes(1, 2), bytes(3, 4)]);
    expect(await readCappedStream(stream, 4)).toEqual(bytes(1, 2, 3, 4));
    expect(seen.cancelled).toBe(false);
  });

  it('gives an empty body for no stream at all', async () => {
    expect(await readCappedStream(null, 4)).toEqual(new Uint8Array(0));
  });

  it('stops at the chunk that passes the cap and cancels the rest', async () => {
    const { stream, seen } = webStream([bytes(1, 2), bytes(3, 4), bytes(5), bytes(6)]);
    expect(await readCappedStream(stream, 3)).toBeUndefined();
    expect(seen.cancelled).toBe(true);
    expect(seen.pulls).toBe(2);
  });

  it('refuses a declared length above the cap without reading a byte', async () => {
    const { stream, seen } = webStream([bytes(1)]);
    expect(await readCappedStream(stream, 3, { declaredLength: '4' })).toBeUndefined();
    expect(seen.cancelled).toBe(true);
    expect(seen.pulls).toBe(0);
  });

  it('still counts when the declared length is false', async () => {
    const { stream } = webStream([bytes(1, 2), bytes(3, 4)]);
    expect(await readCappedStream(stream, 3, { declaredLength: '2' })).toBeUndefined();
  });

  it('ends a stalled read with the reason of the signal', async () => {
    const stalled = new ReadableStream<Uint8Array>({ pull: () => new Promise(() => undefined) });
    const controller = new AbortController();
    const read = readCappedStream(stalled, 10, { signal: controller.signal });
    const reason = new Error('deadline');
    controller.abort(reason);
    await expect(read).rejects.toBe(reason);
  });

  it('passes a read failure on to the caller', async () => {
    const failure = new Error('reset');
    const broken = new ReadableStream<Uint8Array>({ pull: (controller) => controller.error(failure) });
    await expect(readCappedStream(broken, 10)).rejects.toBe(failure);
  });
});

describe('readCappedNode', () => {
  it('joins the chunks of a body within the cap', async () => {
    const stream = new PassThrough();
    const read = readCappedNode(stream, 4, { letGo: () => expect.unreachable() });
    stream.write(bytes(1, 2));
    stream.end(bytes(3, 4));
    expect(new Uint8Array((await read)!)).toEqual(bytes(1, 2, 3, 4));
  });

  it('stops at the chunk that passes the cap and lets the rest go the caller\'s way', async () => {
    const stream = new PassThrough();
    let letGo: PassThrough | undefined;
    const read = readCappedNode(stream, 3, { letGo: (rest) => (letGo = rest) });
    stream.write(bytes(1, 2));
    stream.write(bytes(3, 4));
    expect(await read).toBeUndefined();
    expect(letGo).toBe(stream);
    expect(stream.listenerCount('data')).toBe(0);
  });

  it('refuses a declared length above the cap without reading', async () => {
    const stream = new PassThrough();
    let letGo: PassThrough | undefined;
    expect(await readCappedNode(stream, 3, { declaredLength: '4', letGo: (rest) => (letGo = rest) })).toBeUndefined();
    expect(letGo).toBe(stream);
    expect(stream.listenerCount('data')).toBe(0);
  });

  it('passes a stream error on to the caller', async () => {
    const stream = new PassThrough();
    const read = readCappedNode(stream, 10, { letGo: () => undefined });
    const failure = new Error('reset');
    stream.destroy(failure);
    await expect(read).rejects.toBe(failure);
  });

  it('counts a stream closed before its end as a failure', async () => {
    const stream = new PassThrough();
    const read = readCappedNode(stream, 10, { letGo: () => undefined });
    stream.write(bytes(1));
    stream.destroy();
    await expect(read).rejects.toThrow(/closed before its end/);
  });
});
