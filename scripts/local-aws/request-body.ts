/**
 * A local service's request body, read whole: its size, and its bytes unless it passes `maxBytes`
 * (the rest is still read and dropped, so the connection can carry the answer). Each service
 * answers an oversized body its own way, as AWS does; some name the size.
 */
import type http from 'node:http';

export interface RequestBody {
  /** Absent once the body passed the cap. */
  bytes?: Buffer;
  size: number;
}

export function readRequestBody(req: http.IncomingMessage, maxBytes: number): Promise<RequestBody> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > maxBytes ? { size } : { bytes: Buffer.concat(chunks), size }));
  });
}
