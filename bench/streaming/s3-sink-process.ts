/**
 * Child process: an S3-shaped sink that drops every byte it is sent, so that the worker's own
 * cost shows apart from the S3 emulator's (s3rver hashes every part with MD5 and rewrites the
 * whole object at CompleteMultipartUpload, on the same two cores). It answers, path-style, the
 * calls the worker and the baselines make: CreateMultipartUpload, UploadPart, Complete- and
 * AbortMultipartUpload, ListMultipartUploads, PutObject, HeadObject and DeleteObject. It keeps
 * only sizes: a completed upload's length (the sum of the parts Complete names, each as
 * received), so the harness checks that every byte arrived, as it does against s3rver.
 * Signatures are not checked. Prints {"url": ...} when ready; SIGTERM stops it.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exitWithParent } from '../harness/child-process';

interface Upload {
  key: string;
  parts: Map<number, number>;
}

const uploads = new Map<string, Upload>();
/** Completed objects: key → bytes. */
const objects = new Map<string, number>();

function xml(res: http.ServerResponse, status: number, body: string): void {
  const bytes = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': bytes.length, 'x-amz-request-id': randomUUID() });
  res.end(bytes);
}

function s3Error(res: http.ServerResponse, status: number, code: string, message: string): void {
  xml(res, status, `<Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}

function escape(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Counts a request body's bytes and drops them. */
function drain(req: http.IncomingMessage): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.once('end', () => resolve(bytes));
    req.once('error', reject);
  });
}

/** The part numbers a CompleteMultipartUpload body lists. */
function listedParts(body: string): number[] {
  return [...body.matchAll(/<PartNumber>(\d+)<\/PartNumber>/g)].map((match) => Number(match[1]));
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const [, bucket = '', ...keyParts] = url.pathname.split('/');
  const key = decodeURIComponent(keyParts.join('/'));
  const uploadId = url.searchParams.get('uploadId');
  const partNumber = url.searchParams.get('partNumber');
  const method = req.method ?? 'GET';

  if (method === 'GET' && key === '' && url.searchParams.has('uploads')) {
    return xml(res, 200, `<ListMultipartUploadsResult><Bucket>${escape(bucket)}</Bucket><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>`);
  }
  if (method === 'POST' && url.searchParams.has('uploads')) {
    await drain(req);
    const id = randomUUID().replace(/-/g, '');
    uploads.set(id, { key, parts: new Map() });
    return xml(
      res,
      200,
      `<InitiateMultipartUploadResult><Bucket>${escape(bucket)}</Bucket><Key>${escape(key)}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`,
    );
  }
  if (method === 'PUT' && uploadId !== null && partNumber !== null) {
    const upload = uploads.get(uploadId);
    const bytes = await drain(req);
    if (!upload || upload.key !== key) return s3Error(res, 404, 'NoSuchUpload', 'The specified upload does not exist.');
    upload.parts.set(Number(partNumber), bytes);
    res.writeHead(200, { etag: `"${partNumber}-${bytes}"`, 'content-length': 0 });
    return void res.end();
  }
  if (method === 'POST' && uploadId !== null) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const upload = uploads.get(uploadId);
    if (!upload || upload.key !== key) return s3Error(res, 404, 'NoSuchUpload', 'The specified upload does not exist.');
    let total = 0;
    for (const part of listedParts(Buffer.concat(chunks).toString('utf8'))) {
      const bytes = upload.parts.get(part);
      if (bytes === undefined) return s3Error(res, 400, 'InvalidPart', `Part ${part} was not uploaded.`);
      total += bytes;
    }
    uploads.delete(uploadId);
    objects.set(key, total);
    return xml(
      res,
      200,
      `<CompleteMultipartUploadResult><Bucket>${escape(bucket)}</Bucket><Key>${escape(key)}</Key><ETag>"sink-${total}"</ETag></CompleteMultipartUploadResult>`,
    );
  }
  if (method === 'DELETE' && uploadId !== null) {
    await drain(req);
    uploads.delete(uploadId);
    res.writeHead(204);
    return void res.end();
  }
  if (method === 'PUT') {
    objects.set(key, await drain(req));
    res.writeHead(200, { etag: '"sink"', 'content-length': 0 });
    return void res.end();
  }
  if (method === 'HEAD') {
    await drain(req);
    const bytes = objects.get(key);
    res.writeHead(bytes === undefined ? 404 : 200, bytes === undefined ? {} : { 'content-length': bytes, etag: '"sink"' });
    return void res.end();
  }
  if (method === 'DELETE') {
    await drain(req);
    objects.delete(key);
    res.writeHead(204);
    return void res.end();
  }
  await drain(req);
  return s3Error(res, 501, 'NotImplemented', `The sink does not serve ${method} ${url.pathname}${url.search}.`);
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((error: unknown) => {
    if (!res.headersSent) s3Error(res, 500, 'InternalError', escape(String(error)));
    else res.destroy();
  });
});
server.keepAliveTimeout = 60_000;

exitWithParent();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${port}` }) + '\n');
});
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
