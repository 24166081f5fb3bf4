/**
 * The request body both the request-overhead and the race benchmarks send: the original API
 * document's curl body (test/fixtures/original-docs-multipart.txt) with its placeholders filled
 * in and its padding spaces kept, as the end-to-end tests send it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const BOUNDARY = '----WebKitFormBoundaryohLfLFHX1EPDP7rB';
export const MULTIPART_CONTENT_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

const FIXTURE = path.resolve(__dirname, '../test/fixtures/original-docs-multipart.txt');

export function originalDocsBody(packageUrl: string, version: string): Buffer {
  const text = readFileSync(FIXTURE, 'utf8')
    .replace('Link to your source code package', packageUrl)
    .replace('Your version number', version);
  return Buffer.from(text, 'utf8');
}
