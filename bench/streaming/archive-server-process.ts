/**
 * Child process: the "remote" package server. GET /<name> answers the file of that name in
 * BENCH_ARCHIVE_DIR with a Content-Length, as a static file server would.
 * Prints {"url": "http://127.0.0.1:<port>"} when ready; SIGTERM stops it.
 */
import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { exitWithParent } from '../harness/child-process';

const dir = process.env.BENCH_ARCHIVE_DIR ?? '';

const server = http.createServer((req, res) => {
  const name = path.basename(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
  const file = path.join(dir, name);
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': size });
  pipeline(createReadStream(file, { highWaterMark: 256 * 1024 }), res).catch(() => res.destroy());
});

exitWithParent();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${port}` }) + '\n');
});
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
