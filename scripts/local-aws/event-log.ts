/**
 * The local bus's events (scripts/local-aws/event-bus.ts keeps one JSON line each in
 * `<data dir>/event-bus/<bus>.jsonl`), read back and shown one short line each for `npm run events`.
 */
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import type { DeliveredEvent } from './event-bus';

type Detail = Record<string, unknown>;

const text = (value: unknown): string => (value === null || value === undefined ? '-' : String(value));

/** One event as a line a person reads: when, what, which module, and the outcome. */
export function describeEvent(event: DeliveredEvent): string {
  const detail = (typeof event.detail === 'object' && event.detail !== null ? event.detail : {}) as Detail;
  const when = event.time.replace('T', ' ').replace('Z', '');
  const where = `${text(detail.code)}/${text(detail.module_name)}`;
  const job = `job ${text(detail.job_id)}`;
  switch (event['detail-type']) {
    case 'Source Package Registered': {
      const description = detail.app_description as Detail | null | undefined;
      const app = description ? `  app_desc v${text(description.spec_version)} ${text(description.app_code)} ${text(description.app_version)}` : '';
      const sha = typeof detail.sha256_signature === 'string' ? detail.sha256_signature.slice(0, 12) : '-';
      return `${when}  registered  ${where} ${text(detail.version)}  ${text(detail.package_name)}  ${text(detail.package_size)} B  sha256 ${sha}…${app}  ${job}`;
    }
    case 'Source Package Job Failed': {
      const error = (detail.error ?? {}) as Detail;
      return `${when}  failed      ${where} ${text(detail.version)}  ${text(error.status)} ${text(error.code)}: ${text(error.detail)}  ${job}`;
    }
    default:
      return `${when}  ${event['detail-type']} (${event.source})  ${JSON.stringify(event.detail)}`;
  }
}

/** What one read found: whole events, and what a person should know about the files. */
export interface EventLogRead {
  events: DeliveredEvent[];
  /** A file replaced or cut short (read again from its start), a line that is not an event (skipped). */
  notes: string[];
}

interface Position {
  /**
   * The file's inode and birth time: another is a new file under the same name (`rm -rf .data`,
   * a restart). The birth time too, as a removed file's inode is soon given to the next one.
   */
  identity: string;
  offset: number;
  /** The end of the last read that was not yet a whole line. */
  partial: string;
}

/**
 * Reads each bus file from where it was last read: what a follower has not seen yet, as whole
 * lines. A file that is gone, replaced or shorter than what was read is read again from its start;
 * a line that does not parse is skipped with a note, never the end of the follower.
 */
export class EventLogReader {
  private readonly positions = new Map<string, Position>();

  constructor(private readonly dir: string) {}

  files(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((name) => name.endsWith('.jsonl'))
      .sort()
      .map((name) => path.join(this.dir, name));
  }

  /** The events appended since the last call (all of them on the first). */
  next(): EventLogRead {
    const read: EventLogRead = { events: [], notes: [] };
    const files = this.files();
    for (const known of this.positions.keys()) if (!files.includes(known)) this.positions.delete(known);
    for (const file of files) {
      let stat;
      try {
        stat = statSync(file);
      } catch {
        continue; // removed between the listing and now: the next read forgets it
      }
      const identity = `${stat.ino}:${stat.birthtimeMs}`;
      let position = this.positions.get(file) ?? { identity, offset: 0, partial: '' };
      if (position.identity !== identity || stat.size < position.offset) {
        read.notes.push(`${path.basename(file)} was replaced or cut short; reading it from the start.`);
        position = { identity, offset: 0, partial: '' };
      }
      this.positions.set(file, position);
      if (stat.size === position.offset) continue;
      const buffer = Buffer.alloc(stat.size - position.offset);
      const fd = openSync(file, 'r');
      let got: number;
      try {
        got = readSync(fd, buffer, 0, buffer.length, position.offset);
      } finally {
        closeSync(fd);
      }
      position.offset += got;
      const lines = `${position.partial}${buffer.subarray(0, got).toString('utf8')}`.split('\n');
      position.partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        const event = parseEvent(line);
        if (event) read.events.push(event);
        else read.notes.push(`skipped a line of ${path.basename(file)} that is not an event: ${line.slice(0, 200)}`);
      }
    }
    read.events.sort((a, b) => a.time.localeCompare(b.time));
    return read;
  }
}

function parseEvent(line: string): DeliveredEvent | undefined {
  try {
    const value = JSON.parse(line) as Partial<DeliveredEvent> | null;
    return value && typeof value === 'object' && typeof value.time === 'string' && typeof value['detail-type'] === 'string' ? (value as DeliveredEvent) : undefined;
  } catch {
    return undefined;
  }
}
