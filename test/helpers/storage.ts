/**
 * The DynamoDB and S3 emulators for one test file, with the tables and bucket the packaged
 * template declares, behind the local IAM gates: a function's clients (`clientsOf`) are signed
 * as its role and can do exactly what the template lets that role do on AWS. Also the checks of
 * The invariants (docs/design.md#invariants) over what the emulators hold.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, inject } from 'vitest';
import { createDynamoDbClient, createS3Client } from '../../lib/core/aws-clients';
import { loadConfig, type Config } from '../../lib/core/config';
import { IamAuthority, roleCredentials } from '../../scripts/local-aws/iam';
import { bucketsOf, stackName, tablesOf } from '../../scripts/local-aws/packaging';
import { readFileSync } from 'node:fs';
import { LOCAL_REGION, PACKAGED_TEMPLATE_FILE, ResolvedTemplate, type JsonObject } from '../../scripts/local-aws/template';
import { ensureResources, localClients, startEmulators, type Emulators } from '../../scripts/local-emulators';
import { sha256Of } from './archives';
import { keysOfRecord, multipartUploadsInProgress, objectBytes, objectKeysOf, recordsOf, type StorageView, type StoredRecord } from './storage-reads';

export { keysOfRecord, multipartUploadsInProgress, objectBytes, objectKeysOf, recordsOf, type StorageView, type StoredRecord };

/** The service's functions, by the names serverless.yml gives them. */
export type FunctionName = 'authorize' | 'link' | 'packages' | 'jobStatus' | 'fetch' | 'fetchFailures';

export interface RoleClients {
  s3: S3Client;
  dynamodb: DynamoDBClient;
}

export interface TestStorage extends StorageView {
  emulators: Emulators;
  template: ResolvedTemplate;
  iam: IamAuthority;
  config(overrides?: Record<string, string>): Config;
  /** Clients signed as `fn`'s role, as on Lambda: the IAM gates refuse what the role may not do. */
  clientsOf(fn: FunctionName): RoleClients;
  /** Refusals the IAM gates answered, in order (AccessDenied is also what the caller saw). */
  denials: string[];
  /** For the in-process Lambda stand-in: throws AccessDeniedException unless `fn`'s role may invoke. */
  invokeCheck(fn: FunctionName): (functionName: string) => Promise<void>;
  close(): Promise<void>;
}

/**
 * The template `serverless package --stage local` produced for this test run (test/setup);
 * `edit` changes a copy of its JSON first (to show that the enforcement can fail).
 */
export function localTemplate(edit?: (template: JsonObject) => void): ResolvedTemplate {
  const raw = JSON.parse(readFileSync(path.join(inject('localPackageDir'), PACKAGED_TEMPLATE_FILE), 'utf8')) as JsonObject;
  edit?.(raw);
  return new ResolvedTemplate(raw, { stackName: stackName('local') });
}

export function functionLogicalId(fn: FunctionName): string {
  return `${fn.charAt(0).toUpperCase()}${fn.slice(1)}LambdaFunction`;
}

/** A function's environment as the template resolves it (dynamic references included). */
export function environmentOf(template: ResolvedTemplate, fn: FunctionName): Record<string, string> {
  const environment = template.resource(functionLogicalId(fn)).properties.Environment;
  const variables = typeof environment === 'object' && environment !== null && !Array.isArray(environment) ? environment.Variables : undefined;
  return typeof variables === 'object' && variables !== null && !Array.isArray(variables) ? (variables as Record<string, string>) : {};
}

export async function startTestStorage(options: { template?: ResolvedTemplate } = {}): Promise<TestStorage> {
  const template = options.template ?? localTemplate();
  const iam = new IamAuthority(template);
  const denials: string[] = [];
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bkpaas-test-'));
  const emulators = await startEmulators({
    dataDir,
    dynamodbPort: 0,
    s3Port: 0,
    iam: { authority: iam, account: template, onDenied: (line) => denials.push(line) },
  });
  const [bucket] = bucketsOf(template);
  if (!bucket) throw new Error('the template declares no packages bucket');
  await ensureResources({ ...emulators, tables: tablesOf(template), buckets: [bucket] });
  const { s3, dynamodb } = localClients(emulators);
  const tableOf = (logicalId: string): string => template.physicalName(logicalId);
  const roleClients = new Map<FunctionName, RoleClients>();
  return {
    emulators,
    template,
    iam,
    denials,
    s3,
    dynamodb,
    table: tableOf('VersionsTable'),
    tokensTable: tableOf('TokensTable'),
    jobsTable: tableOf('JobsTable'),
    bucket,
    clientsOf(fn) {
      const known = roleClients.get(fn);
      if (known) return known;
      const role = iam.roleOfFunction(functionLogicalId(fn));
      const base = { region: LOCAL_REGION, credentials: roleCredentials(role.logicalId) };
      const clients = {
        s3: createS3Client({ ...base, endpoints: { s3: emulators.s3Endpoint } }),
        dynamodb: createDynamoDbClient({ ...base, endpoints: { dynamodb: emulators.dynamodbEndpoint } }),
      };
      roleClients.set(fn, clients);
      return clients;
    },
    invokeCheck(fn) {
      const role = iam.roleOfFunction(functionLogicalId(fn));
      return async (functionName) => {
        const resource = `arn:aws:lambda:${template.region}:${template.accountId}:function:${functionName}`;
        const decision = await iam.authorize({ kind: 'role', role, session: fn }, { action: 'lambda:InvokeFunction', resources: [resource] });
        if (!decision.allowed) {
          denials.push(`[local IAM] denied lambda:InvokeFunction on ${resource}: ${decision.message}`);
          throw Object.assign(new Error(decision.message), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } });
        }
      };
    },
    config: (overrides = {}) =>
      loadConfig({
        STAGE: 'local',
        ALLOW_PRIVATE_URLS: 'true',
        VERSIONS_TABLE: tableOf('VersionsTable'),
        TOKENS_TABLE: tableOf('TokensTable'),
        JOBS_TABLE: tableOf('JobsTable'),
        PACKAGES_BUCKET: bucket,
        FETCH_FUNCTION_NAME: tableOf('FetchLambdaFunction'),
        CURSOR_SIGNING_KEY: environmentOf(template, 'packages').CURSOR_SIGNING_KEY ?? '',
        DYNAMODB_ENDPOINT: emulators.dynamodbEndpoint,
        S3_ENDPOINT: emulators.s3Endpoint,
        // The smallest part S3 allows, so that a few MiB already take the multipart path.
        UPLOAD_PART_BYTES: String(5 * 1024 * 1024),
        // A dead run's job is taken over after this; tests do not wait a minute for it.
        JOB_LEASE_SECONDS: '2',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
        ...overrides,
      }),
    async close() {
      for (const clients of roleClients.values()) {
        clients.s3.destroy();
        clients.dynamodb.destroy();
      }
      s3.destroy();
      dynamodb.destroy();
      await emulators.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The invariants (docs/design.md#invariants) for one module: every record's object exists and matches its size and SHA-256
 * (2), every object — package, app description, logo — has a record pointing to it and every
 * object a record names exists (3), no multipart upload is left (3).
 * Returns the records for further checks.
 */
export async function expectInvariants(storage: StorageView, code: string, module: string): Promise<StoredRecord[]> {
  const records = await recordsOf(storage, code, module);
  const keys = await objectKeysOf(storage, code, module);
  expect(keys).toEqual(records.flatMap(keysOfRecord).sort());
  for (const record of records) {
    const bytes = await objectBytes(storage, record.object_key);
    expect(bytes.length).toBe(record.package_size);
    expect(sha256Of(bytes)).toBe(record.sha256);
  }
  expect(await multipartUploadsInProgress(storage)).toBe(0);
  return records;
}
