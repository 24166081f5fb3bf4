/**
 * A small EventBridge for the local stack: PutEvents in EventBridge's JSON 1.1 protocol
 * (`X-Amz-Target: AWSEvents.PutEvents`) on the buses the template names, each call checked
 * against the caller's role, with each entry's source as `events:source`. Every accepted entry is appended, as EventBridge would deliver it to
 * a target (id, source, detail-type, time, region, account, resources, detail), as one JSON line
 * to `<dir>/<bus>.jsonl`; `npm run events` prints them.
 *
 * It can be made to refuse, as a sick bus would, while a file `<dir>/refuse` exists: every call
 * answers 500 InternalException, or, when the file says `entries`, every entry is refused in a
 * 200 answer (`FailedEntryCount`), which a client that only checks for errors would miss.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Account } from './aws-requests';
import { accessKeyOf, type IamAuthority } from './iam';
import { readRequestBody } from './request-body';

export interface EventBusOptions {
  dir: string;
  /** The buses that exist (busesOf: `default` and the template's). */
  buses: string[];
  iam: IamAuthority;
  account: Account;
  onDenied?: (line: string) => void;
}

/** An event as EventBridge hands it to a target. */
export interface DeliveredEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

interface Entry {
  Source?: unknown;
  DetailType?: unknown;
  Detail?: unknown;
  EventBusName?: unknown;
  Resources?: unknown;
  Time?: unknown;
}

type EntryResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

class EventsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

// EventBridge's own limits on one call.
const MAX_ENTRIES = 10;
const MAX_BODY_BYTES = 256 * 1024;

export const REFUSE_FLAG = 'refuse';

/** The file a bus's events are kept in. */
export function busFile(dir: string, bus: string): string {
  return path.join(dir, `${bus}.jsonl`);
}

export class LocalEventBus {
  constructor(private readonly options: EventBusOptions) {
    mkdirSync(options.dir, { recursive: true });
  }

  /** `default`, a bus name or a bus ARN, as PutEvents takes it. */
  private busOf(entry: Entry): { name: string; arn: string } {
    const given = typeof entry.EventBusName === 'string' && entry.EventBusName !== '' ? entry.EventBusName : 'default';
    const name = given.startsWith('arn:') ? (given.split(':event-bus/')[1] ?? '') : given;
    return { name, arn: `arn:aws:events:${this.options.account.region}:${this.options.account.accountId}:event-bus/${name}` };
  }

  private refusal(): string | undefined {
    const flag = path.join(this.options.dir, REFUSE_FLAG);
    return existsSync(flag) ? readFileSync(flag, 'utf8').trim() || 'calls' : undefined;
  }

  private async putEvents(body: Record<string, unknown>, accessKeyId: string | undefined): Promise<Record<string, unknown>> {
    const entries = Array.isArray(body.Entries) ? (body.Entries as Entry[]) : [];
    if (entries.length < 1 || entries.length > MAX_ENTRIES) throw new EventsError('ValidationException', `Entries must hold 1 to ${MAX_ENTRIES} entries.`);
    const caller = this.options.iam.callerOf(accessKeyId);
    for (const entry of entries) {
      const bus = this.busOf(entry);
      // IAM sees every entry's source (events:source); one entry a role may not send refuses the call.
      const context = { 'events:source': [typeof entry.Source === 'string' ? entry.Source : ''] };
      const decision = await this.options.iam.authorize(caller, { action: 'events:PutEvents', resources: [bus.arn], context });
      if (!decision.allowed) {
        this.options.onDenied?.(`[local IAM] denied events:PutEvents on ${bus.arn}: ${decision.message}`);
        throw new EventsError('AccessDeniedException', decision.message);
      }
      if (!this.options.buses.includes(bus.name)) throw new EventsError('ResourceNotFoundException', `Event bus ${bus.name} does not exist.`);
    }
    const refusal = this.refusal();
    if (refusal && refusal !== 'entries') throw new EventsError('InternalException', `The local bus refuses calls while ${path.join(this.options.dir, REFUSE_FLAG)} exists.`, 500);
    const results: EntryResult[] = entries.map((entry) => (refusal ? { ErrorCode: 'InternalFailure', ErrorMessage: 'The local bus refuses entries.' } : this.accept(entry)));
    return { FailedEntryCount: results.filter((result) => 'ErrorCode' in result).length, Entries: results };
  }

  private accept(entry: Entry): EntryResult {
    if (typeof entry.Source !== 'string' || entry.Source === '' || typeof entry.DetailType !== 'string' || entry.DetailType === '') {
      return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameters Source and DetailType are required.' };
    }
    let detail: unknown;
    try {
      detail = JSON.parse(typeof entry.Detail === 'string' ? entry.Detail : '');
    } catch {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    // The SDK sends Time as epoch seconds; EventBridge delivers it to the second, in UTC.
    const time = typeof entry.Time === 'number' ? new Date(entry.Time * 1000) : new Date();
    const event: DeliveredEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType,
      source: entry.Source,
      account: this.options.account.accountId,
      time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.options.account.region,
      resources: Array.isArray(entry.Resources) ? entry.Resources.filter((item): item is string => typeof item === 'string') : [],
      detail,
    };
    appendFileSync(busFile(this.options.dir, this.busOf(entry).name), `${JSON.stringify(event)}\n`);
    return { EventId: event.id };
  }

  listener(): http.RequestListener {
    return (req, res) => {
      void readRequestBody(req, MAX_BODY_BYTES).then(({ bytes: raw }) => {
        const answer = (status: number, body: Record<string, unknown>): void => {
          res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() }).end(JSON.stringify(body));
        };
        const handle = async (): Promise<Record<string, unknown>> => {
          if (raw === undefined) throw new EventsError('ValidationException', `The request exceeds ${MAX_BODY_BYTES} bytes.`);
          const target = String(req.headers['x-amz-target'] ?? '');
          if (target !== 'AWSEvents.PutEvents') throw new EventsError('UnknownOperationException', `${target || 'This operation'} is not supported by the local EventBridge.`);
          let body: Record<string, unknown>;
          try {
            body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
          } catch {
            throw new EventsError('SerializationException', 'The request body is not JSON.');
          }
          return this.putEvents(body, accessKeyOf(req.headers, new URL(req.url ?? '/', 'http://127.0.0.1')));
        };
        handle().then(
          (body) => answer(200, body),
          (error: unknown) => {
            if (error instanceof EventsError) answer(error.status, { __type: error.type, message: error.message });
            else answer(500, { __type: 'InternalException', message: String(error) });
          },
        );
      });
    };
  }
}
