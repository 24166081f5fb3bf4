/**
 * Preloaded (`node --require`) into a profiled child by bench/profile.ts: counts the bytes copied
 * through the JavaScript-visible copies — Buffer.concat, Buffer#copy, TypedArray#set and #slice,
 * Buffer.from of a buffer or array — and writes them to BENCH_COPY_FILE as it exits.
 * Copies inside Node's C++ (socket reads into fresh buffers, zlib's output) are not seen here.
 */
import { writeFileSync } from 'node:fs';

const copied: Record<string, number> = {};

function count(what: string, bytes: number): void {
  copied[what] = (copied[what] ?? 0) + bytes;
}

const concat = Buffer.concat.bind(Buffer);
Buffer.concat = (list: readonly Uint8Array[], totalLength?: number): Buffer<ArrayBuffer> => {
  const out = concat(list, totalLength);
  if (list.length > 1) count('Buffer.concat', out.length);
  else if (list.length === 1) count('Buffer.concat of one', out.length);
  return out;
};

const copy = Buffer.prototype.copy;
Buffer.prototype.copy = function (this: Buffer, ...args: Parameters<Buffer['copy']>): number {
  const n = copy.apply(this, args);
  count('Buffer#copy', n);
  return n;
};

const set = Uint8Array.prototype.set;
Uint8Array.prototype.set = function (this: Uint8Array, source: ArrayLike<number>, offset?: number): void {
  count('Uint8Array#set', source.length);
  set.call(this, source, offset);
};

const slice = Uint8Array.prototype.slice;
Uint8Array.prototype.slice = function (this: Uint8Array<ArrayBuffer>, start?: number, end?: number): Uint8Array<ArrayBuffer> {
  const out = slice.call(this, start, end);
  count('Uint8Array#slice', out.length);
  return out;
};

const from = Buffer.from as (...args: unknown[]) => Buffer;
(Buffer as unknown as { from: (...args: unknown[]) => Buffer }).from = (...args: unknown[]): Buffer => {
  const out = from.apply(Buffer, args);
  if (ArrayBuffer.isView(args[0]) || Array.isArray(args[0])) count('Buffer.from(copy)', out.length);
  return out;
};

process.once('exit', () => {
  const file = process.env.BENCH_COPY_FILE;
  if (file) writeFileSync(file, JSON.stringify(copied));
});
