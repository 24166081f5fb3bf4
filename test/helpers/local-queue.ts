/**
 * One queue of the local SQS (scripts/local-aws/sqs.ts) on a real HTTP port, reached through the
 * SDK as the admin of the fixture account: for tests of SQS's own rules and of code that drains
 * a queue, without the whole local stack.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN_CREDENTIALS, IamAuthority } from '../../scripts/local-aws/iam';
import { LocalSqs } from '../../scripts/local-aws/sqs';
import { loadPackagedTemplate, LOCAL_REGION, PACKAGED_TEMPLATE_FILE } from '../../scripts/local-aws/template';

const fixtures = path.join(__dirname, '../fixtures/lambda-functions');
const QUEUE = 'fixture-failures';

export interface LocalQueue {
  sqs: SQSClient;
  /** The service itself, for code that sends to it in-process (the local Lambda's destinations). */
  local: LocalSqs;
  queueUrl: string;
  close(): Promise<void>;
}

export async function startLocalQueue(retentionSeconds = 3600): Promise<LocalQueue> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bkpaas-local-sqs-'));
  copyFileSync(path.join(fixtures, PACKAGED_TEMPLATE_FILE), path.join(dir, PACKAGED_TEMPLATE_FILE));
  const template = loadPackagedTemplate(dir, { stackName: 'fixture' });
  const local = new LocalSqs({ dir: path.join(dir, 'sqs'), queues: [{ name: QUEUE, retentionSeconds }], iam: new IamAuthority(template), account: template, endpoint: () => 'http://127.0.0.1' });
  const server = http.createServer(local.listener());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sqs = new SQSClient({ region: LOCAL_REGION, endpoint, credentials: ADMIN_CREDENTIALS, maxAttempts: 1 });
  return {
    sqs,
    local,
    queueUrl: `${endpoint}/${template.accountId}/${QUEUE}`,
    async close() {
      sqs.destroy();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
