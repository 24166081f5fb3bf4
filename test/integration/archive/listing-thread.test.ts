/**
 * The listing on a worker thread (LISTING_THREAD=true, lib/archive/listing-thread.ts) answers exactly
 * what the listing in process answers: the same summary and app description for every
 * app-description fixture, the same verdict and detail for every file of the hostile corpus. The
 * thread runs a bundle of lib/archive/listing-thread.ts built here with the functions' esbuild options,
 * as on Lambda it runs the fetch bundle.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle } from '../../../bench/harness/bundle';
import { DESTROYED } from '../../../lib/archive/archive-listing';
import { ThreadedListing, type ListingThreadScript } from '../../../lib/archive/listing-thread';
import { PackageInspector } from '../../../lib/archive/package-inspector';

const LIMITS = { maxEntries: 200_000, maxUncompressedBytes: 4 * 1024 ** 3 };
const fixtures = path.join(__dirname, '..', '..', 'fixtures');
const appDescFiles = (JSON.parse(readFileSync(path.join(fixtures, 'app-desc', 'manifest.json'), 'utf8')) as { file: string }[]).map((c) =>
  path.join(fixtures, 'app-desc', 'files', c.file),
);
const corpusFiles = (JSON.parse(readFileSync(path.join(fixtures, 'hostile-corpus', 'manifest.json'), 'utf8')) as { file: string }[]).map((c) =>
  path.join(fixtures, 'hostile-corpus', 'files', c.file),
);

let scratch: string;
let script: ListingThreadScript;

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'listing-thread-'));
  script = { file: (await bundle(path.join(__dirname, '..', '..', '..', 'lib', 'archive', 'listing-thread.ts'), path.join(scratch, 'listing-thread.js'))).file };
}, 60_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** The inspector's verdict on a file sent in 64 KiB chunks: its result, or the refusal's code and detail. */
async function verdict(file: string, thread?: ListingThreadScript): Promise<unknown> {
  const bytes = readFileSync(file);
  const inspector = new PackageInspector(64 * 1024 ** 2, bytes.length, LIMITS, thread);
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 64 * 1024) chunks.push(bytes.subarray(at, at + 64 * 1024));
  const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  try {
    await pipeline(Readable.from(chunks), inspector, sink);
    return inspector.result();
  } catch (error) {
    return { refused: (error as { code?: string }).code, detail: (error as Error).message };
  }
}

describe('the listing on a worker thread', () => {
  it.each(appDescFiles.map((file) => [path.basename(file), file]))('reads %s as the listing in process does', async (_name, file) => {
    const inProcess = await verdict(file);

    const threaded = await verdict(file, script);

    expect(threaded).toEqual(inProcess);
  });

  it.each(corpusFiles.map((file) => [path.basename(file), file]))('judges %s as the listing in process does', async (_name, file) => {
    const inProcess = await verdict(file);

    const threaded = await verdict(file, script);

    expect(threaded).toEqual(inProcess);
  });

  it('stops its thread when destroyed half-way, and refuses further use without an unhandled rejection', async () => {
    const bytes = readFileSync(appDescFiles.find((file) => file.endsWith('.tar.gz')) ?? '');
    const listing = new ThreadedListing('tar.gz', LIMITS, script);
    void listing.write(bytes.subarray(0, 1000));

    listing.destroy();

    await expect(listing.exited).resolves.toEqual(expect.any(Number));
    await expect(listing.write(bytes.subarray(1000))).rejects.toThrow(DESTROYED);
    await expect(listing.end()).rejects.toThrow(DESTROYED);
  });

  it('makes the writer wait once 4 MiB are posted and not yet taken, and lets it go on as the thread takes them', async () => {
    const listing = new ThreadedListing('tar', LIMITS, script);
    const chunk = Buffer.alloc(1024 * 1024);
    const answers: (Promise<void> | undefined)[] = [];
    for (let i = 0; i < 5; i++) answers.push(listing.write(chunk));

    expect(answers.slice(0, 4).every((answer) => answer === undefined)).toBe(true);
    expect(answers[4]).toBeInstanceOf(Promise);
    // A writer that does not wait is told so, not silently dropped.
    await expect(listing.write(chunk)).rejects.toThrow(/still waiting/);
    await answers[4];
    answers.push(listing.write(chunk));
    await answers[5];
    // Zeros are an empty tar: the end-of-archive block and its padding.
    await expect(listing.end()).resolves.toEqual({ entryCount: 0, uncompressedBytes: 0 });
    await listing.exited;
  });
});
