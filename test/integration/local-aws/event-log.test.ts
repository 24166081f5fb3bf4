/**
 * `npm run events`, as an operator runs it, on a bus directory the local EventBridge writes: one
 * readable line per event; `--follow` keeps printing what arrives, as `tail -f` does.
 */
import { execFile, spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventLogReader } from '../../../scripts/local-aws/event-log';
import { schemaProblems } from '../../helpers/event-schemas';
import type { DeliveredEvent } from '../../../scripts/local-aws/event-bus';

const root = path.resolve(__dirname, '../../..');
const FIXTURE = path.join(root, 'test/fixtures/job-events/delivered.jsonl');
let dataDir: string;
let busDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'bkpaas-events-'));
  busDir = path.join(dataDir, 'event-bus');
  mkdirSync(busDir);
});

afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const events = (args: string[] = []) => promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/events.ts', ...args], { cwd: root, env: { ...process.env, LOCAL_DATA_DIR: dataDir }, timeout: 30_000 });

describe('npm run events', () => {
  it('prints one line per event, registered and failed, with the module, the outcome and the job', async () => {
    copyFileSync(FIXTURE, path.join(busDir, 'default.jsonl'));

    const { stdout } = await events();

    expect(stdout.trimEnd().split('\n')).toEqual([
      '2026-11-25 07:13:49  registered  sundy820/default 1.0.0  app-1.0.tar.gz  4586 B  sha256 b57b4752d5d3…  app_desc v2 sundy820 1.0.0  job idem-3f2a9c',
      '2026-11-25 07:14:02  failed      sundy820/default -  502 PACKAGE_DOWNLOAD_FAILED: The remote answered 503.  job job-7',
    ]);
  });

  it('says so when the bus has taken nothing yet, and prints the events as delivered with --json', async () => {
    await expect(events()).resolves.toMatchObject({ stdout: '', stderr: expect.stringContaining('No events yet') });
    copyFileSync(FIXTURE, path.join(busDir, 'default.jsonl'));

    const { stdout } = await events(['--json']);

    expect(stdout.trimEnd().split('\n').map((line) => schemaProblems(JSON.parse(line) as DeliveredEvent))).toEqual([[], []]);
  });

  it('keeps printing new events with --follow, as they are appended', async () => {
    const [first, second] = readFileSync(FIXTURE, 'utf8').trimEnd().split('\n');
    appendFileSync(path.join(busDir, 'default.jsonl'), `${first}\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/events.ts', '--follow'], { cwd: root, env: { ...process.env, LOCAL_DATA_DIR: dataDir } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const until = async (text: string): Promise<void> => {
      for (let i = 0; i < 200 && !output.includes(text); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(output).toContain(text);
    };
    try {
      await until('job idem-3f2a9c');
      appendFileSync(path.join(busDir, 'default.jsonl'), `${second}\n`);
      await until('job job-7');
      expect(output.trimEnd().split('\n')).toHaveLength(2);
    } finally {
      child.kill();
    }
  });
});

describe('the reader behind it', () => {
  it('holds back a line the bus has not finished writing, and gives it once it is whole', () => {
    const [first] = readFileSync(FIXTURE, 'utf8').split('\n');
    const reader = new EventLogReader(busDir);
    appendFileSync(path.join(busDir, 'default.jsonl'), first!.slice(0, 40));

    expect(reader.next()).toEqual([]);
    appendFileSync(path.join(busDir, 'default.jsonl'), `${first!.slice(40)}\n`);
    expect(reader.next().map((event) => event.id)).toEqual(['0b1c6a8e-1f5e-4a4b-9d55-3c2f3a1e9b01']);
    expect(reader.next()).toEqual([]);
  });
});
