/**
 * The local EventBridge on a real server on 127.0.0.1, IAM enforced from a template, writing to a
 * directory of its own; counts the PutEvents calls that reach it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalEventBus } from '../../scripts/local-aws/event-bus';
import { IamAuthority } from '../../scripts/local-aws/iam';
import { busesOf } from '../../scripts/local-aws/packaging';
import type { ResolvedTemplate } from '../../scripts/local-aws/template';
import { localTemplate } from './storage';

export interface Bus {
  dir: string;
  url: string;
  /** PutEvents calls that reached the server. */
  calls(): number;
  /** Runs before each call is handled, with its number (1 first) and the answer it will get. */
  onCall?: (call: number, res: http.ServerResponse) => void;
  close(): Promise<void>;
}

export async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function startBus(template: ResolvedTemplate = localTemplate()): Promise<Bus> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bkpaas-bus-'));
  const bus = new LocalEventBus({ dir, buses: busesOf(template), iam: new IamAuthority(template), account: template });
  const listener = bus.listener();
  let calls = 0;
  const handle: Bus = {
    dir,
    url: '',
    calls: () => calls,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const server = http.createServer((req, res) => {
    calls += 1;
    handle.onCall?.(calls, res);
    listener(req, res);
  });
  handle.url = await listen(server);
  return handle;
}
