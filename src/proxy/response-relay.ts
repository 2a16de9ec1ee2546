import type { Dispatcher } from 'undici';

/** Where a relayed body goes: the client's response, or the first stage of a rewrite. */
export interface BodySink {
  /** false when the sink is full: the downstream is paused until it drains. */
  write(chunk: Uint8Array): boolean;
  end(): void;
  once(event: 'drain', listener: () => void): unknown;
}

/** The final response head (never a 1xx): what the proxy decides on before the body moves. */
export interface ResponseHead {
  readonly statusCode: number;
  readonly headers: Dispatcher.ResponseData['headers'];
}

/**
 * How much the relay holds for a sink still to come before it pauses the downstream: a socket
 * read's worth. A body that arrives whole with its head (most answers) is held and written without
 * the pause, which makes undici hand the rest of the read back to the socket and parse it again.
 */
const HOLD_LIMIT_BYTES = 64 * 1024;

/** How much of an unwanted body `drop` reads to keep the connection, as undici's own `dump`. */
const DROP_LIMIT_BYTES = 128 * 1024;

/**
 * One request dispatched to undici, its response relayed as it arrives. The head settles `head`;
 * the body is written straight into the sink it is given. Bytes that come while there is no sink
 * yet (the head is decided on asynchronously) or while the sink is full are held, in order, and
 * written when it comes or drains. The downstream is paused while the sink is full, and while
 * more than HOLD_LIMIT_BYTES wait for a sink, so no more than a read's worth waits in memory.
 * Nothing stands between the downstream's socket and the client's response: no body stream, no pipe.
 *
 * The downstream is only ever paused from `onResponseData`, where undici's parser stops at once;
 * a pause asked for between its callbacks, undici's 7.x parser takes after the next chunk, and
 * resumed from there it delivered empty chunks without end.
 */
export class ResponseRelay implements Dispatcher.DispatchHandler {
  readonly head: Promise<ResponseHead>;
  #resolveHead!: (head: ResponseHead) => void;
  #rejectHead!: (error: Error) => void;
  #controller: Dispatcher.DispatchController | undefined;
  #paused = false;
  #started = false;
  #ended = false;
  #failure: Error | undefined;
  /** Set once nobody wants the rest: later bytes are dropped and the request is cancelled. */
  #abortReason: Error | undefined;
  #sink: BodySink | undefined;
  #onError: ((error: Error) => void) | undefined;
  /** Bytes for a sink still to come, or to drain; undefined while the body flows straight through. */
  #held: Buffer[] | undefined;
  #heldBytes = 0;

  constructor() {
    this.head = new Promise((resolve, reject) => {
      this.#resolveHead = resolve;
      this.#rejectHead = reject;
    });
  }

  /** Whether body bytes, or the body's end, came with the head: a sink given now gets them at once, in the same turn. */
  get bodyArrived(): boolean {
    return this.#held !== undefined || this.#ended;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#abortReason !== undefined) controller.abort(this.#abortReason);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: ResponseHead['headers']): void {
    // An informational response: the final head follows.
    if (statusCode < 200) return;
    this.#started = true;
    this.#resolveHead({ statusCode, headers });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#abortReason !== undefined) return;
    const sink = this.#sink;
    if (sink !== undefined && this.#held === undefined) {
      if (!sink.write(chunk)) {
        this.#waitForDrain(sink);
        this.#pause(controller);
      }
      return;
    }
    (this.#held ??= []).push(chunk);
    this.#heldBytes += chunk.byteLength;
    if (sink !== undefined || this.#heldBytes > HOLD_LIMIT_BYTES) this.#pause(controller);
  }

  onResponseEnd(): void {
    this.#ended = true;
    // Held bytes go first: the end follows them when the sink drains.
    if (this.#held === undefined) this.#sink?.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    if (!this.#started) {
      this.#rejectHead(error);
      return;
    }
    this.#failure = error;
    this.#onError?.(error);
  }

  /** Sends the body, from its first byte, into `sink`; `onError` hears of a failure after the head. */
  relayTo(sink: BodySink, onError: (error: Error) => void): void {
    this.#sink = sink;
    this.#onError = onError;
    this.#writeHeld(sink);
    if (this.#failure !== undefined) onError(this.#failure);
  }

  /** Reads the rest of a body nobody wants, so the connection can carry the next request; a long one is cut instead. */
  drop(): Promise<void> {
    return new Promise((resolve) => {
      let bytes = 0;
      const sink: BodySink = {
        write: (chunk) => {
          bytes += chunk.byteLength;
          if (bytes > DROP_LIMIT_BYTES) {
            this.discard();
            resolve();
          }
          return true;
        },
        end: resolve,
        once: () => undefined,
      };
      this.relayTo(sink, () => resolve());
    });
  }

  /** Lets go of a body nobody will read: what comes is dropped and, unless it is complete, the request is cancelled. */
  discard(): void {
    this.#sink = undefined;
    this.#onError = undefined;
    this.#held = undefined;
    this.abort(new Error('the response body was let go'));
  }

  /** Cancels the request (the client left): before the head, `head` rejects with `reason`; after it, the sink's `onError` hears it. */
  abort(reason: Error): void {
    if (this.#abortReason !== undefined || this.#ended || this.#failure !== undefined) return;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }

  /**
   * Writes what is held into `sink`, then the end if it came; waits again if the sink fills, else
   * lets the downstream go on. A failure stops it: the sink's `onError` hears of it once.
   */
  #writeHeld(sink: BodySink): void {
    if (this.#sink !== sink) return;
    const held = this.#held;
    this.#held = undefined;
    this.#heldBytes = 0;
    let full = false;
    if (held !== undefined) for (const chunk of held) full = !sink.write(chunk);
    if (this.#failure !== undefined) return;
    if (this.#ended) sink.end();
    else if (full) this.#waitForDrain(sink);
    else this.#resume();
  }

  /** Holds what comes next until `sink` drains. */
  #waitForDrain(sink: BodySink): void {
    this.#held = [];
    sink.once('drain', () => this.#writeHeld(sink));
  }

  #pause(controller: Dispatcher.DispatchController): void {
    if (this.#paused) return;
    this.#paused = true;
    controller.pause();
  }

  #resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#controller?.resume();
  }
}
