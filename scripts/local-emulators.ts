/**
 * The local stand-ins for DynamoDB (dynalite) and S3 (s3rver), bound to 127.0.0.1, with their
 * data under one directory so it survives restarts. Used by `npm start` and by the tests.
 *
 * s3rver lacks AbortMultipartUpload and ListMultipartUploads; a thin front serves both from
 * its upload directory, so the service's cleanup and the tests' checks run as they would on S3.
 */
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { AbortMultipartUploadCommand, CreateBucketCommand, HeadBucketCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdirSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createDynamoDbClient, createS3Client } from '../lib/core/aws-clients';
import type { Account } from './local-aws/aws-requests';
import { ADMIN_CREDENTIALS, type IamAuthority } from './local-aws/iam';
import { iamGate } from './local-aws/iam-gate';

// Neither package ships type declarations; these are the calls we use.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (options: Record<string, unknown>) => http.Server;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => { callback(): http.RequestListener };

/** The emulators' own credentials: the local account's administrator (s3rver knows only these). */
export const LOCAL_CREDENTIALS = ADMIN_CREDENTIALS;
export const LOCAL_REGION = 'us-east-1';

export interface EmulatorOptions {
  dataDir: string;
  dynamodbPort: number;
  s3Port: number;
  /**
   * IAM from the packaged template: when given, each emulator sits behind a gate that lets a
   * request through only if the role that signed it may make it (scripts/local-aws/iam-gate.ts).
   */
  iam?: { authority: IamAuthority; account: Account; onDenied?: (line: string) => void };
}

export interface Emulators {
  dynamodbEndpoint: string;
  s3Endpoint: string;
  s3DataDir: string;
  close(): Promise<void>;
}

function listen(server: http.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function uploadsDir(s3DataDir: string, bucket: string): string {
  return path.join(s3DataDir, bucket, '._S3rver_uploads');
}

function xmlEscape(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Serves the two multipart calls s3rver lacks; passes every other request on. */
function withMultipartAdmin(s3DataDir: string, s3rver: http.RequestListener): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const [, bucket = '', ...keyParts] = url.pathname.split('/').filter((part, index) => index === 0 || part !== '');
    const uploadId = url.searchParams.get('uploadId');
    if (req.method === 'DELETE' && uploadId && keyParts.length > 0) {
      if (!/^[0-9a-f]+$/.test(uploadId)) {
        res.writeHead(404).end();
        return;
      }
      rm(path.join(uploadsDir(s3DataDir, decodeURIComponent(bucket)), uploadId), { recursive: true, force: true })
        .then(() => res.writeHead(204).end())
        .catch(() => res.writeHead(500).end());
      return;
    }
    if (req.method === 'GET' && url.searchParams.has('uploads') && keyParts.length === 0 && bucket) {
      listUploads(uploadsDir(s3DataDir, decodeURIComponent(bucket)))
        .then((uploads) => {
          const body =
            '<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult>' +
            `<Bucket>${xmlEscape(bucket)}</Bucket><IsTruncated>false</IsTruncated>` +
            uploads.map((u) => `<Upload><Key>${xmlEscape(u.key)}</Key><UploadId>${u.id}</UploadId></Upload>`).join('') +
            '</ListMultipartUploadsResult>';
          res.writeHead(200, { 'content-type': 'application/xml' }).end(body);
        })
        .catch(() => res.writeHead(500).end());
      return;
    }
    s3rver(req, res);
  };
}

async function listUploads(dir: string): Promise<{ id: string; key: string }[]> {
  let ids: string[];
  try {
    ids = await readdir(dir);
  } catch {
    return [];
  }
  const uploads = await Promise.all(
    ids.map(async (id) => ({ id, key: await readFile(path.join(dir, id, 'key'), 'utf8').catch(() => '') })),
  );
  return uploads;
}

export async function startEmulators(options: EmulatorOptions): Promise<Emulators> {
  const dynamodbDir = path.join(options.dataDir, 'dynamodb');
  const s3DataDir = path.join(options.dataDir, 's3');
  mkdirSync(dynamodbDir, { recursive: true });
  mkdirSync(s3DataDir, { recursive: true });

  const servers: http.Server[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all(servers.map(close));
  };
  try {
    const { iam } = options;
    const dynamodbServer = dynalite({ path: dynamodbDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    servers.push(dynamodbServer);
    const s3rver = new S3rver({ directory: s3DataDir, silent: true, allowMismatchedSignatures: true });
    const s3Server = http.createServer(withMultipartAdmin(s3DataDir, s3rver.callback()));
    servers.push(s3Server);
    let dynamodbPort: number;
    let s3Port: number;
    if (iam) {
      // The emulators on ports of their own; the gates take the ports clients know.
      const dynamodbInternal = await listen(dynamodbServer, 0);
      const s3Internal = await listen(s3Server, 0);
      const gate = (service: 'dynamodb' | 's3', upstreamPort: number): http.Server =>
        http.createServer(iamGate({ service, iam: iam.authority, account: iam.account, upstreamPort, onDenied: iam.onDenied }));
      const dynamodbGate = gate('dynamodb', dynamodbInternal);
      const s3Gate = gate('s3', s3Internal);
      servers.push(dynamodbGate, s3Gate);
      dynamodbPort = await listen(dynamodbGate, options.dynamodbPort);
      s3Port = await listen(s3Gate, options.s3Port);
    } else {
      dynamodbPort = await listen(dynamodbServer, options.dynamodbPort);
      s3Port = await listen(s3Server, options.s3Port);
    }
    return {
      dynamodbEndpoint: `http://127.0.0.1:${dynamodbPort}`,
      s3Endpoint: `http://127.0.0.1:${s3Port}`,
      s3DataDir,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

export interface LocalResources {
  dynamodbEndpoint: string;
  s3Endpoint: string;
  tables: CreateTableCommandInput[];
  buckets: string[];
}

/** Clients for the emulators, with the credentials they accept. */
export function localClients(endpoints: { dynamodbEndpoint: string; s3Endpoint: string }): {
  dynamodb: DynamoDBClient;
  s3: S3Client;
} {
  const base = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  return {
    dynamodb: createDynamoDbClient({ ...base, endpoints: { dynamodb: endpoints.dynamodbEndpoint } }),
    s3: createS3Client({ ...base, endpoints: { s3: endpoints.s3Endpoint } }),
  };
}

/** Creates the tables and the packages bucket when they are missing. */
export async function ensureResources(resources: LocalResources): Promise<void> {
  const { dynamodb, s3 } = localClients(resources);
  try {
    for (const table of resources.tables) {
      try {
        await dynamodb.send(new DescribeTableCommand({ TableName: table.TableName }));
      } catch (error) {
        if ((error as Error).name !== 'ResourceNotFoundException') throw error;
        await dynamodb.send(new CreateTableCommand(table));
      }
    }
    for (const bucket of resources.buckets) {
      try {
        await s3.send(new HeadBucketCommand({ Bucket: bucket }));
      } catch {
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      }
    }
  } finally {
    dynamodb.destroy();
    s3.destroy();
  }
}

/**
 * Aborts every multipart upload in progress: at start-up, none can belong to a live run, so they
 * are what a stop of the stack interrupted. On AWS the bucket's lifecycle rule does this (after
 * a day). Answers how many were aborted.
 */
export async function abortInterruptedUploads(endpoints: { dynamodbEndpoint: string; s3Endpoint: string }, bucket: string): Promise<number> {
  const { dynamodb, s3 } = localClients(endpoints);
  try {
    const { Uploads = [] } = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    for (const upload of Uploads) {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }));
    }
    return Uploads.length;
  } finally {
    dynamodb.destroy();
    s3.destroy();
  }
}
