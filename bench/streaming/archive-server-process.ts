/**
 * Child process: the "remote" package server. GET /<name> answers the file of that name in
 * BENCH_ARCHIVE_DIR with a Content-Length, as a static file server would. `?rate=<bytes per
 * second>` paces the body at that rate (a remote server or link slower than loopback's ~1 GiB/s):
 * 64 KiB at a time, each sent once the rate allows it, so the stream is smooth at the
 * millisecond scale. Prints {"url": "http://127.0.0.1:<port>"} when ready; SIGTERM stops it.
 */
import { once } from 'node:events';
import { createReadStream, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { exitWithParent } from '../harness/child-process';

const dir = process.env.BENCH_ARCHIVE_DIR ?? '';
const PACED_CHUNK = 64 * 1024;

/** Sends the file at `rate` bytes per second: chunk i leaves no earlier than i × chunk / rate. */
async function sendPaced(file: string, size: number, rate: number, res: http.ServerResponse): Promise<void> {
  const handle = await open(file, 'r');
  try {
    const started = performance.now();
    for (let sent = 0; sent < size; ) {
      const due = started + (sent / rate) * 1000;
      const wait = due - performance.now();
      if (wait >= 1) await sleep(wait);
      const chunk = Buffer.allocUnsafe(Math.min(PACED_CHUNK, size - sent));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, sent);
      if (bytesRead !== chunk.length) throw new Error(`${file} shrank while being served`);
      sent += bytesRead;
      if (!res.write(chunk)) await once(res, 'drain');
    }
    res.end();
  } finally {
    await handle.close();
  }
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const file = path.join(dir, path.basename(url.pathname));
  const rate = Number(url.searchParams.get('rate') ?? 0);
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': size });
  const sending = rate > 0 ? sendPaced(file, size, rate, res) : pipeline(createReadStream(file, { highWaterMark: 256 * 1024 }), res);
  sending.catch(() => res.destroy());
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
