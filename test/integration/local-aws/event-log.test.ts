/**
 * `npm run events`, as an operator runs it, on a bus directory the local EventBridge writes: one
 * readable line per event; `--follow` keeps printing what arrives, as `tail -f` does.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventLogReader } from '../../../scripts/local-aws/event-log';
import { schemaProblems } from '../../helpers/event-schemas';
import { waitFor } from '../../helpers/eventually';
import { runScript } from '../../helpers/run-script';
import type { DeliveredEvent } from '../../../scripts/local-aws/event-bus';

const root = path.resolve(__dirname, '../../..');
const FIXTURE = path.join(root, 'test/fixtures/job-events/delivered.jsonl');
const [FIRST_ID, SECOND_ID] = readFileSync(FIXTURE, 'utf8').trimEnd().split('\n').map((line) => (JSON.parse(line) as DeliveredEvent).id);
let dataDir: string;
let busDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'bkpaas-events-'));
  busDir = path.join(dataDir, 'event-bus');
  mkdirSync(busDir);
});

afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const events = (args: string[] = []) => runScript('events.ts', args, { ...process.env, LOCAL_DATA_DIR: dataDir }, 30_000);

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

  it('keeps printing new events with --follow, as they are appended, through the bus files being removed and a line that is not JSON', async () => {
    const [first, second] = readFileSync(FIXTURE, 'utf8').trimEnd().split('\n');
    appendFileSync(path.join(busDir, 'default.jsonl'), `${first}\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/events.ts', '--follow'], { cwd: root, env: { ...process.env, LOCAL_DATA_DIR: dataDir } });
    let output = '';
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    const until = async (text: string): Promise<void> => {
      await waitFor(() => output.includes(text));
      expect(output).toContain(text);
    };
    try {
      await until('job idem-3f2a9c');
      appendFileSync(path.join(busDir, 'default.jsonl'), `${second}\n`);
      await until('job job-7');
      expect(output.trimEnd().split('\n')).toHaveLength(2);

      // `rm -rf .data` and a restart: the bus starts a new, shorter file; then a line that is not JSON.
      rmSync(busDir, { recursive: true });
      await new Promise((resolve) => setTimeout(resolve, 600));
      mkdirSync(busDir);
      appendFileSync(path.join(busDir, 'default.jsonl'), `not json\n${second!.replace('job-7', 'job-8')}\n`);
      await until('job job-8');
      expect(child.exitCode).toBeNull();
      expect(errors).toContain('not an event: not json');
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

    expect(reader.next()).toEqual({ events: [], notes: [] });
    appendFileSync(path.join(busDir, 'default.jsonl'), `${first!.slice(40)}\n`);
    expect(reader.next().events.map((event) => event.id)).toEqual([FIRST_ID]);
    expect(reader.next()).toEqual({ events: [], notes: [] });
  });

  it('reads a bus file again from its start, dropping the held-back line, when it is replaced or cut short', () => {
    const [first, second] = readFileSync(FIXTURE, 'utf8').trimEnd().split('\n');
    const file = path.join(busDir, 'default.jsonl');
    const reader = new EventLogReader(busDir);
    writeFileSync(file, `${first}\n${second}\n${first!.slice(0, 40)}`);
    expect(reader.next().events).toHaveLength(2);

    // Cut short: the bus wrote one event into a file emptied under the reader.
    writeFileSync(file, `${second}\n`);
    expect(reader.next()).toEqual({ events: [expect.objectContaining({ id: SECOND_ID })], notes: [expect.stringContaining('reading it from the start')] });

    // Replaced: `rm -rf .data` and a restart, a new file longer than what was read.
    rmSync(file);
    writeFileSync(`${file}.new`, `${first}\n${second}\n${second}\n`);
    renameSync(`${file}.new`, file);
    expect(reader.next().events.map((event) => event.id)).toEqual([FIRST_ID, SECOND_ID, SECOND_ID]);
  });

  it('skips a line that is not an event, with a note, and goes on reading', () => {
    const [first, second] = readFileSync(FIXTURE, 'utf8').trimEnd().split('\n');
    writeFileSync(path.join(busDir, 'default.jsonl'), `${first}\n{"half": \n[1, 2]\n${second}\n`);

    const read = new EventLogReader(busDir).next();

    expect(read.events.map((event) => event.id)).toEqual([FIRST_ID, SECOND_ID]);
    expect(read.notes).toEqual([expect.stringContaining('not an event: {"half":'), expect.stringContaining('not an event: [1, 2]')]);
  });
});
