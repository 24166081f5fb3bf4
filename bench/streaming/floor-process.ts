/**
 * Child process: one primitive of the honest floor, bundled and measured like the worker (issue
 * 13). The floor is the work the worker cannot avoid, each piece done the plainest way Node
 * offers, with no stream machinery between them:
 *   read     <file>               read the file (64 KiB chunks), nothing else: subtracted from the next four
 *   download <url>                GET the archive and drop the bytes
 *   sha256   <file>               read + SHA-256
 *   gunzip   <file>               read + zlib gunzip in 256 KiB output chunks, output dropped
 *   list     <file>               read + gunzip (for a .tar.gz) + the tar walk with every safety
 *                                 rule (lib/archive/tar-parser.ts, synchronous, default limits)
 *   upload   <file> <sink> <key>  read + a plain multipart upload to the S3-shaped sink: keep-alive,
 *                                 the read chunks sent as they are (no part assembly), at most
 *                                 UPLOAD_QUEUE_SIZE parts in flight, no signing
 * floor = download + (sha256 − read) + (list − read) + (upload − read): bench/harness/floor.ts.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import http from 'node:http';
import { createGunzip } from 'node:zlib';
import { loadConfig, type Config } from '../../lib/core/config';
import { TarParser } from '../../lib/archive/tar-parser';
import { measureJob, runMain } from './measure-job';

const READ_CHUNK = 64 * 1024;
const GUNZIP_CHUNK = 256 * 1024;

/**
 * Calls `onChunk` with each chunk of the file; when it answers a promise, reading pauses until
 * that settles (the upload's backpressure). No promise per chunk otherwise.
 */
function readFile(file: string, onChunk: (chunk: Buffer) => void | Promise<void>): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = createReadStream(file, { highWaterMark: READ_CHUNK });
    let bytes = 0;
    stream.on('data', (data) => {
      const chunk = data as Buffer;
      bytes += chunk.length;
      const wait = onChunk(chunk);
      if (wait) {
        stream.pause();
        wait.then(() => stream.resume(), (error: unknown) => stream.destroy(error as Error));
      }
    });
    stream.once('end', () => resolve(bytes));
    stream.once('error', reject);
  });
}

function download(url: string): Promise<{ bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`GET ${url} answered ${res.statusCode}`));
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.once('end', () => resolve({ bytes }));
      res.once('error', reject);
    });
    req.once('error', reject);
  });
}

async function sha256(file: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  const bytes = await readFile(file, (chunk) => void hash.update(chunk));
  return { bytes, sha256: hash.digest('hex') };
}

/** The file's bytes, gunzipped when they are gzip, to `onTar`; answers the compressed bytes read. */
function readTar(file: string, onTar: (bytes: Buffer) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK });
    let compressed = 0;
    let gzip: boolean | undefined;
    const stream = createReadStream(file, { highWaterMark: READ_CHUNK });
    stream.on('data', (data) => {
      const chunk = data as Buffer;
      compressed += chunk.length;
      gzip ??= chunk[0] === 0x1f && chunk[1] === 0x8b;
      if (!gzip) return onTar(chunk);
      if (!gunzip.write(chunk)) {
        stream.pause();
        gunzip.once('drain', () => stream.resume());
      }
    });
    stream.once('end', () => {
      if (!gzip) return resolve(compressed);
      gunzip.end();
    });
    gunzip.on('data', (bytes: Buffer) => onTar(bytes));
    gunzip.once('end', () => resolve(compressed));
    for (const source of [stream, gunzip]) source.once('error', reject);
  });
}

async function list(file: string, config: Config): Promise<{ bytes: number; entries: number }> {
  const parser = new TarParser(true, { maxEntries: config.maxArchiveEntries, maxUncompressedBytes: config.maxUncompressedBytes });
  const bytes = await readTar(file, (tar) => parser.write(tar));
  return { bytes, entries: parser.end().entryCount };
}

async function gunzip(file: string): Promise<{ bytes: number; tarBytes: number }> {
  let tarBytes = 0;
  const bytes = await readTar(file, (tar) => {
    tarBytes += tar.length;
  });
  return { bytes, tarBytes };
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function send(agent: http.Agent, url: URL, method: string, body: Buffer[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const length = body.reduce((sum, chunk) => sum + chunk.length, 0);
    const req = http.request(url, { method, agent, headers: { 'content-length': length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.once('error', reject);
    });
    req.once('error', reject);
    for (const chunk of body) req.write(chunk);
    req.end();
  });
}

async function upload(file: string, sink: string, key: string, config: Config): Promise<{ bytes: number; parts: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: config.uploadQueueSize });
  const objectUrl = new URL(`${sink}/bench-packages/${key}`);
  const call = async (method: string, search: string, body: Buffer[] = []): Promise<Answer> => {
    const answer = await send(agent, new URL(`${objectUrl.href}?${search}`), method, body);
    if (answer.status !== 200) throw new Error(`${method} ?${search} answered ${answer.status}: ${answer.body}`);
    return answer;
  };
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec((await call('POST', 'uploads')).body)?.[1];
  if (!uploadId) throw new Error('CreateMultipartUpload answered no UploadId');
  const etags: string[] = [];
  const inFlight = new Set<Promise<void>>();
  let part: Buffer[] = [];
  let partBytes = 0;
  const sendPart = (): void => {
    const number = etags.length + 1;
    etags.push('');
    const sending = call('PUT', `partNumber=${number}&uploadId=${uploadId}`, part).then((answer) => {
      etags[number - 1] = String(answer.headers.etag);
      inFlight.delete(sending);
    });
    inFlight.add(sending);
    part = [];
    partBytes = 0;
  };
  const bytes = await readFile(file, (chunk) => {
    part.push(chunk);
    partBytes += chunk.length;
    if (partBytes < config.uploadPartBytes) return undefined;
    sendPart();
    return inFlight.size >= config.uploadQueueSize ? Promise.race(inFlight) : undefined;
  });
  if (partBytes > 0 || etags.length === 0) sendPart();
  await Promise.all(inFlight);
  const complete = etags.map((etag, index) => `<Part><PartNumber>${index + 1}</PartNumber><ETag>${etag}</ETag></Part>`).join('');
  await call('POST', `uploadId=${uploadId}`, [Buffer.from(`<CompleteMultipartUpload>${complete}</CompleteMultipartUpload>`)]);
  agent.destroy();
  return { bytes, parts: etags.length };
}

runMain(async () => {
  const [mode = '', first = '', ...rest] = process.argv.slice(2);
  const config = loadConfig();
  const jobs: Record<string, () => Promise<object>> = {
    read: async () => ({ bytes: await readFile(first, () => undefined) }),
    download: () => download(first),
    sha256: () => sha256(first),
    gunzip: () => gunzip(first),
    list: () => list(first, config),
    upload: () => upload(first, rest[0] ?? '', rest[1] ?? '', config),
  };
  const job = jobs[mode];
  if (!job) throw new Error(`unknown primitive "${mode}"; use ${Object.keys(jobs).join(', ')}`);
  await measureJob(job);
});
