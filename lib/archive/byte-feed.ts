/**
 * Bytes handed over from a stream to a parser written as straight-line async code (read a
 * header, skip the data, read the next header…). The producer's `push` takes a chunk at once
 * while at most HIGH_WATER bytes wait for the parser, and otherwise answers a promise that
 * settles once the parser has taken enough of them (or waits for more than is buffered). So
 * memory holds at most HIGH_WATER bytes plus a chunk, the parser's pace is the stream's when it
 * falls behind (backpressure), and a producer that keeps ahead pays no promise per chunk
 * (a promise and two turns of the microtask queue per 64 KiB, for every chunk).
 */

/** Thrown by reads that need more bytes than are left before the end. */
export class EndOfBytes extends Error {
  constructor() {
    super('The bytes ended early.');
    this.name = 'EndOfBytes';
  }
}

interface Waiting {
  resolve: () => void;
  reject: (error: Error) => void;
  promise: Promise<void>;
}

function noop(): void {}

/** Bytes the feed takes from its producer before the producer must wait for the parser. */
export const HIGH_WATER = 1024 * 1024;

export class ByteFeed {
  private chunks: Buffer[] = [];
  private available = 0;
  private ended = false;
  private failure: Error | undefined;
  private finished = false;
  private consumerWaiting = false;
  private wakeConsumer: (() => void) | undefined;
  private readonly producers: Waiting[] = [];
  /** Bytes taken by the parser so far: its offset in the stream. */
  position = 0;

  /** @param readAheadBytes bytes the feed holds for the parser before a push must wait (0: none) */
  constructor(private readonly readAheadBytes = HIGH_WATER) {}

  /** Takes the chunk; answers undefined when the producer may go on, else a promise to wait for. */
  push(chunk: Buffer): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.reject(new Error('ByteFeed.push() after end()'));
    if (chunk.length > 0 && !this.finished) {
      this.chunks.push(chunk);
      this.available += chunk.length;
      this.wake();
    }
    if (this.mayProceed()) return undefined;
    let settle!: { resolve: () => void; reject: (error: Error) => void };
    const promise = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    this.producers.push({ ...settle, promise });
    return promise;
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  /** Stops the feed: every pending and later push, and the parser's next read, reject with `error`. */
  fail(error: Error, options: { quiet?: boolean } = {}): void {
    if (this.failure) return;
    this.failure = error;
    this.chunks = [];
    this.available = 0;
    for (const producer of this.producers.splice(0)) {
      // Quiet: the caller gave up on the pushes (destroy), so none may surface as unhandled.
      if (options.quiet) producer.promise.catch(noop);
      producer.reject(error);
    }
    this.wake();
  }

  /** The parser is done: pending and later pushes resolve at once, their bytes dropped. */
  finish(): void {
    this.finished = true;
    this.releaseProducers();
  }

  /** Exactly `n` bytes (copied only when they span chunks). */
  async read(n: number): Promise<Buffer> {
    await this.waitFor(n);
    if (this.available < n) throw new EndOfBytes();
    return this.take(n);
  }

  /** Up to `n` bytes without taking them: fewer only at the end. */
  async peek(n: number): Promise<Buffer> {
    await this.waitFor(n);
    const length = Math.min(n, this.available);
    const head = this.chunks[0];
    if (head !== undefined && head.length >= length) return head.subarray(0, length);
    return Buffer.concat(this.chunks, this.available).subarray(0, length);
  }

  /**
   * Every chunk buffered now, as they came, at most `max` bytes in all (the last one cut if it
   * must be), without copying; waits for one byte first; undefined at the end.
   */
  async nextAll(max: number): Promise<Buffer[] | undefined> {
    await this.waitFor(1);
    if (this.chunks.length === 0) return undefined;
    const taken: Buffer[] = [];
    let bytes = 0;
    while (bytes < max && this.chunks.length > 0) {
      const piece = this.take(Math.min(max - bytes, this.chunks[0]?.length ?? 0));
      taken.push(piece);
      bytes += piece.length;
    }
    return taken;
  }

  /** The next bytes as they came, at most `max`, without copying; undefined at the end. */
  async next(max: number): Promise<Buffer | undefined> {
    await this.waitFor(1);
    const head = this.chunks[0];
    if (head === undefined) return undefined;
    return this.take(Math.min(max, head.length));
  }

  /** What is buffered now, at most `max` bytes of the first chunk, without waiting or taking it. */
  buffered(max: number): Buffer {
    return this.chunks[0]?.subarray(0, max) ?? Buffer.alloc(0);
  }

  /** Skips `n` bytes; throws EndOfBytes if fewer are left. */
  async skip(n: number, onBytes?: (bytes: Buffer) => void): Promise<void> {
    for (let left = n; left > 0; ) {
      const piece = await this.next(left);
      if (piece === undefined) throw new EndOfBytes();
      onBytes?.(piece);
      left -= piece.length;
    }
  }

  /** The bytes before the next `delimiter` byte (which is taken too), or undefined past `max` bytes. */
  async readUntil(delimiter: number, max: number): Promise<Buffer | undefined> {
    let scanned = 0;
    for (;;) {
      let offset = 0;
      for (const chunk of this.chunks) {
        if (offset + chunk.length > scanned) {
          const at = chunk.indexOf(delimiter, Math.max(0, scanned - offset));
          if (at !== -1) {
            if (offset + at > max) return undefined;
            const bytes = this.take(offset + at);
            this.take(1);
            return bytes;
          }
        }
        offset += chunk.length;
      }
      scanned = this.available;
      if (scanned > max) return undefined;
      if (this.ended || this.failure) {
        if (this.failure) throw this.failure;
        throw new EndOfBytes();
      }
      await this.waitFor(this.available + 1);
    }
  }

  /** Puts the last `n` bytes of `pieces`, taken too early, back in front (an inflater read past its stream's end). */
  unshiftTail(pieces: readonly Buffer[], n: number): void {
    let left = n;
    for (let index = pieces.length - 1; index >= 0 && left > 0; index -= 1) {
      const piece = pieces[index] ?? Buffer.alloc(0);
      const part = left >= piece.length ? piece : piece.subarray(piece.length - left);
      if (part.length > 0) this.chunks.unshift(part);
      left -= part.length;
    }
    this.available += n - left;
    this.position -= n - left;
  }

  /** True once every byte has been taken and the producer has ended. */
  async atEnd(): Promise<boolean> {
    await this.waitFor(1);
    return this.available === 0;
  }

  private take(n: number): Buffer {
    let bytes: Buffer;
    const head = this.chunks[0];
    if (head !== undefined && head.length >= n) {
      bytes = head.subarray(0, n);
      if (head.length === n) this.chunks.shift();
      else this.chunks[0] = head.subarray(n);
    } else {
      const all = Buffer.concat(this.chunks, this.available);
      bytes = all.subarray(0, n);
      this.chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.available -= n;
    this.position += n;
    if (this.producers.length > 0) this.releaseProducers();
    return bytes;
  }

  private async waitFor(n: number): Promise<void> {
    while (this.available < n && !this.ended && !this.failure) {
      this.consumerWaiting = true;
      this.releaseProducers();
      await new Promise<void>((resolve) => {
        this.wakeConsumer = resolve;
      });
      this.consumerWaiting = false;
    }
    if (this.failure) throw this.failure;
  }

  private wake(): void {
    const wake = this.wakeConsumer;
    this.wakeConsumer = undefined;
    wake?.();
  }

  /** Whether a producer may push again: little is waiting, or the parser waits for more, or is done. */
  private mayProceed(): boolean {
    return this.available <= this.readAheadBytes || this.consumerWaiting || this.finished;
  }

  private releaseProducers(): void {
    if (!this.mayProceed()) return;
    for (const producer of this.producers.splice(0)) producer.resolve();
  }
}
