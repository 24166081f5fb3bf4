/**
 * Runs the local stack exactly as `npm start` does (scripts/start-local.ts), on free ports and
 * a data directory of the test's choosing, and stops it with SIGTERM as Ctrl-C would.
 */
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localClients } from '../../scripts/local-emulators';
import { SERVICE } from '../../scripts/local-aws/packaging';
import type { StorageView } from './storage-reads';

const root = path.resolve(__dirname, '../..');

export interface LocalStack {
  baseUrl: string;
  ports: LocalStackPorts;
  linkUrl(code: string, module: string): string;
  token: string;
  storage: StorageView;
  output(): string;
  stop(): Promise<void>;
  /** kill -9 of the whole stack and its containers, as a crash of the machine would end it. */
  crash(): Promise<void>;
  /** kill -9 of the containers running a function now (a Lambda environment dying); how many. */
  killContainers(functionName: string): number;
  /** The Node version (`v24.…`) each running container of a function runs on (Linux: /proc). */
  containerNodeVersions(functionName: string): string[];
  /** The command line (argv) of each running container of a function. */
  containerCommandLines(functionName: string): string[][];
  /** Lambda's invocation record of the fetch event for an application in the on-failure queue, looked for `looks` times 250 ms apart (the queue may lag a moment). */
  failureRecordOf(code: string, looks?: number): Promise<FailureRecord | undefined>;
}

export interface FailureRecord {
  requestContext: { condition: string; approximateInvokeCount: number };
  requestPayload: { code: string };
}

/** The containers of a function: a container's command line names its code folder, under the stack's own build folder. */
function containerPids(stack: ChildProcess, functionName: string): number[] {
  const pattern = `.local-stack/${stack.pid}/runtime/functions/${functionName}/`;
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

export interface LocalStackPorts {
  api: number;
  lambda: number;
  dynamodb: number;
  s3: number;
  sqs: number;
  control: number;
  events: number;
}

/**
 * Where the OS picks ports for outgoing connections and port-0 listeners (Linux). The stack binds
 * its ports seconds after they are chosen (it packages first), and restarts on the same ones: a
 * port from that range may meanwhile be taken by any connection on the machine (seen in CI as
 * EADDRINUSE), so the stack's ports are chosen below it.
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : 32_768;
  } catch {
    return 32_768;
  }
}

const LOWEST_PORT = 10_000;

async function canListen(port: number): Promise<boolean> {
  const server = createServer();
  const listening = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (listening) await new Promise((resolve) => server.close(resolve));
  return listening;
}

async function freePort(taken: Set<number>): Promise<number> {
  const high = ephemeralLow();
  if (high - LOWEST_PORT < 1_000) {
    // No room below the ephemeral range: let the OS choose, and accept the race.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return port;
  }
  for (let tries = 0; tries < 100; tries += 1) {
    const port = LOWEST_PORT + Math.floor(Math.random() * (high - LOWEST_PORT));
    if (!taken.has(port) && (await canListen(port))) return port;
  }
  throw new Error(`no free port found between ${LOWEST_PORT} and ${high}`);
}

export async function freePorts(): Promise<LocalStackPorts> {
  const taken = new Set<number>();
  const next = async (): Promise<number> => {
    const port = await freePort(taken);
    taken.add(port);
    return port;
  };
  return { api: await next(), lambda: await next(), dynamodb: await next(), s3: await next(), sqs: await next(), control: await next(), events: await next() };
}

export async function startLocalStack(options: {
  dataDir: string;
  token: string;
  ports: LocalStackPorts;
  env?: Record<string, string>;
}): Promise<LocalStack> {
  const { ports } = options;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'scripts/start-local.ts'], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      API_PORT: String(ports.api),
      LAMBDA_PORT: String(ports.lambda),
      DYNAMODB_PORT: String(ports.dynamodb),
      S3_PORT: String(ports.s3),
      SQS_PORT: String(ports.sqs),
      CONTROL_PORT: String(ports.control),
      EVENTS_PORT: String(ports.events),
      LOCAL_DATA_DIR: options.dataDir,
      LOCAL_ACCESS_TOKEN: options.token,
      LOG_LEVEL: 'warn',
      ...options.env,
    },
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`local stack not ready in time:\n${output}`)), 150_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Local stack ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`local stack exited (${code}) before it was ready:\n${output}`));
    });
  });

  const clients = localClients({
    dynamodbEndpoint: `http://127.0.0.1:${ports.dynamodb}`,
    s3Endpoint: `http://127.0.0.1:${ports.s3}`,
  });
  const baseUrl = `http://127.0.0.1:${ports.api}/api/bkpaas3/stag`;
  return {
    baseUrl,
    ports,
    linkUrl: (code, module) => `${baseUrl}/bkapps/applications/${code}/modules/${module}/source_package/link/`,
    token: options.token,
    storage: {
      ...clients,
      table: `${SERVICE}-local-versions`,
      tokensTable: `${SERVICE}-local-tokens`,
      jobsTable: `${SERVICE}-local-jobs`,
      // CloudFormation's name for a bucket without one, as the local stack gives it.
      bucket: `${SERVICE}-local-packagesbucket`,
    },
    output: () => output,
    async crash() {
      clients.s3.destroy();
      clients.dynamodb.destroy();
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
      await exited;
      rmSync(path.join(root, '.local-stack', String(child.pid)), { recursive: true, force: true });
    },
    killContainers(functionName) {
      const pids = containerPids(child, functionName);
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      return pids.length;
    },
    containerNodeVersions(functionName) {
      return containerPids(child, functionName).map((pid) => execFileSync(readlinkSync(`/proc/${pid}/exe`), ['--version'], { encoding: 'utf8' }).trim());
    },
    containerCommandLines(functionName) {
      return containerPids(child, functionName).map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean));
    },
    async failureRecordOf(code, looks = 40) {
      const sqs = new SQSClient({ region: LOCAL_REGION, endpoint: `http://127.0.0.1:${ports.sqs}`, credentials: LOCAL_CREDENTIALS });
      try {
        let record: FailureRecord | undefined;
        for (let look = 0; look < looks && !record; look += 1) {
          if (look > 0) await new Promise((resolve) => setTimeout(resolve, 250));
          const { Messages = [] } = await sqs.send(
            new ReceiveMessageCommand({ QueueUrl: `http://127.0.0.1:${ports.sqs}/000000000000/${SERVICE}-local-fetch-failures`, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
          );
          record = Messages.map((message) => JSON.parse(message.Body ?? '{}') as FailureRecord).find((candidate) => candidate.requestPayload.code === code);
        }
        return record;
      } finally {
        sqs.destroy();
      }
    },
    async stop() {
      clients.s3.destroy();
      clients.dynamodb.destroy();
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      }, 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
