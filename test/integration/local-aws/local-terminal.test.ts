/**
 * What `npm start` prints for the functions' output in each LOG_FORMAT, and what it keeps in the
 * log file, fed the lines a function writes (the stack itself is run in test/e2e/local-stack.test.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { localTerminal, logFormatOf, type LogFormat } from '../../../scripts/local-terminal';

const INFO = JSON.stringify({ level: 'info', message: 'link upload answered', function: 'link', code: 'sundy820', job_id: 'j-1' });
const WARN = JSON.stringify({ level: 'warn', message: 'transient failure; Lambda will retry the event', function: 'fetch', code: 'PACKAGE_DOWNLOAD_FAILED', job_id: 'j-1' });
const ERROR = JSON.stringify({ level: 'error', message: 'job not finished', function: 'fetch', code: 'sundy820', job_id: 'j-2', error: { name: 'StorageUnavailableError', code: 'STORAGE_UNAVAILABLE' } });
const METRIC = JSON.stringify({ _aws: { Timestamp: 1, CloudWatchMetrics: [] }, JobsSucceeded: 1 });
const CRASH = 'Error: Cannot find module /var/task/handlers/fetch.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function run(format: LogFormat): Promise<{ shown: string; kept: string; notes: string[] }> {
  dir = mkdtempSync(path.join(tmpdir(), 'bkpaas-terminal-'));
  const file = path.join(dir, 'logs', 'functions.log');
  const screen = new PassThrough();
  let shown = '';
  screen.on('data', (chunk: Buffer) => (shown += chunk.toString()));
  const notes: string[] = [];
  const terminal = localTerminal({ format, file, terminal: screen, basePath: '/api/bkpaas3/stag', log: (line) => notes.push(line) });
  // A line split across two writes, as a pipe may deliver it.
  terminal.functionOutput.write(`${INFO}\n${WARN.slice(0, 20)}`);
  terminal.functionOutput.write(`${WARN.slice(20)}\n${ERROR}\n${METRIC}\n${CRASH}\n`);
  terminal.onAnswered(
    { method: 'POST', url: '/api/bkpaas3/stag/bkapps/applications/sundy820/modules/default/source_package/link/', started: Date.now() - 12 },
    { status: 202, headers: { 'x-job-id': 'j-1' }, body: '{"job_id":"j-1","state":"pending"}' },
  );
  terminal.onAnswered(
    { method: 'GET', url: '/api/bkpaas3/stag/nowhere?x=1', started: Date.now(), failure: 'MISSING_AUTHENTICATION_TOKEN (no route)' },
    { status: 404, headers: {}, body: '{"code":"ROUTE_NOT_FOUND","detail":"No route matches this path."}' },
  );
  await terminal.close();
  return { shown, kept: readFileSync(file, 'utf8'), notes };
}

describe('the terminal of npm start', () => {
  it('shows errors in one line, a line that is not JSON as it came, and info, warning and metric lines only in the file (short)', async () => {
    const { shown, kept } = await run('short');

    expect(shown.split('\n').filter(Boolean)).toEqual([
      'error  fetch  job not finished  STORAGE_UNAVAILABLE  job j-2',
      CRASH,
      expect.stringMatching(/^POST {2}sundy820\/default link\/ {2}202 {2}\d+ ms {2}job j-1$/),
      expect.stringMatching(/^GET {2}\/nowhere {2}404 {2}ROUTE_NOT_FOUND {2}\d+ ms {2}\(MISSING_AUTHENTICATION_TOKEN \(no route\)\)$/),
    ]);
    expect(kept).toBe(`${INFO}\n${WARN}\n${ERROR}\n${METRIC}\n${CRASH}\n`);
  });

  it('prints every line as the functions wrote it, metric lines included, with LOG_FORMAT=json', async () => {
    const { shown, kept, notes } = await run('json');

    expect(shown).toBe(`${INFO}\n${WARN}\n${ERROR}\n${METRIC}\n${CRASH}\n`);
    expect(notes).toEqual(['[local API Gateway] GET /api/bkpaas3/stag/nowhere?x=1: MISSING_AUTHENTICATION_TOKEN (no route)']);
    expect(kept).toBe(shown);
  });

  it('refuses a LOG_FORMAT it does not know, by name', () => {
    expect(logFormatOf(undefined)).toBe('short');
    expect(() => logFormatOf('pretty')).toThrow('LOG_FORMAT must be short or json, got "pretty".');
  });
});
