/**
 * A local service's request body, read whole: the bytes, or `undefined` once it passes `maxBytes`
 * (the rest is still read and dropped, so the connection can carry the answer). Each service
 * answers an oversized body its own way, as AWS does.
 */
import type http from 'node:http';

export function readRequestBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > maxBytes ? undefined : Buffer.concat(chunks)));
  });
}
