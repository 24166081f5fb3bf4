/**
 * A real HTTP server on 127.0.0.1 that serves archives and misbehaves on request, and counts
 * the requests each path receives.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface ArchiveServer {
  url(path: string): string;
  route(path: string, handler: Route): void;
  /** Serves `bytes` with a Content-Length, as a static file server would. */
  serve(path: string, bytes: Buffer, headers?: Record<string, string | number | string[]>): void;
  hits(path: string): number;
  close(): Promise<void>;
}

export async function startArchiveServer(): Promise<ArchiveServer> {
  const routes = new Map<string, Route>();
  const counts = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const handler = routes.get(path);
    if (handler) handler(req, res);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    route: (path, handler) => routes.set(path, handler),
    serve: (path, bytes, headers = {}) =>
      routes.set(path, (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length, ...headers });
        res.end(bytes);
      }),
    hits: (path) => counts.get(path) ?? 0,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Sends `head` of a body that claims `declared` bytes, then cuts the connection. */
export function breakAfter(head: Buffer, declared: number): Route {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': declared });
    res.write(head, () => setTimeout(() => res.socket?.destroy(), 50));
  };
}
