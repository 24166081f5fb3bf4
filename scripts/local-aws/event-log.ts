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

/** Reads each bus file from where it was last read: what a follower has not seen yet, as whole lines. */
export class EventLogReader {
  private readonly offsets = new Map<string, number>();
  private readonly partial = new Map<string, string>();

  constructor(private readonly dir: string) {}

  files(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((name) => name.endsWith('.jsonl'))
      .sort()
      .map((name) => path.join(this.dir, name));
  }

  /** The events appended since the last call (all of them on the first). */
  next(): DeliveredEvent[] {
    const events: DeliveredEvent[] = [];
    for (const file of this.files()) {
      const from = this.offsets.get(file) ?? 0;
      const size = statSync(file).size;
      if (size <= from) continue;
      const buffer = Buffer.alloc(size - from);
      const fd = openSync(file, 'r');
      try {
        readSync(fd, buffer, 0, buffer.length, from);
      } finally {
        closeSync(fd);
      }
      this.offsets.set(file, size);
      const lines = `${this.partial.get(file) ?? ''}${buffer.toString('utf8')}`.split('\n');
      this.partial.set(file, lines.pop() ?? '');
      for (const line of lines) if (line.trim()) events.push(JSON.parse(line) as DeliveredEvent);
    }
    return events.sort((a, b) => a.time.localeCompare(b.time));
  }
}
