/**
 * The local stack and the tests run what `serverless package` builds: the same bundles, the same
 * template. Each caller packages into a folder of its own (and bundles in a work folder of its
 * own), so a running stack never sees its bundles rewritten by `npm run package` or a test.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import type { Json, ResolvedTemplate } from './template';

export const SERVICE = 'bkpaas-source-package-link';
const root = path.resolve(__dirname, '../..');

export interface PackageOptions {
  stage: string;
  /** Where the template and the function zips go. */
  outDir: string;
  /** Variables serverless.yml reads at package time (ports, AUTHORIZER_CACHE_TTL, ...). */
  env?: Record<string, string>;
  /** Variables to leave out of the environment serverless runs in, as a fresh shell would. */
  unset?: string[];
}

/** Runs `serverless package` offline; resolves once the template and zips are written. */
export async function packageService(options: PackageOptions): Promise<void> {
  const workFolder = path.join(options.outDir, '.esbuild');
  mkdirSync(options.outDir, { recursive: true });
  const inherited = { ...process.env };
  for (const name of options.unset ?? []) delete inherited[name];
  try {
    await promisify(execFile)(
      process.execPath,
      [require.resolve('osls/bin/serverless.js'), 'package', '--stage', options.stage, '--package', options.outDir],
      {
        cwd: root,
        env: {
          ...inherited,
          ...options.env,
          ESBUILD_WORK_FOLDER: path.relative(root, workFolder),
        },
        timeout: 180_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
  } catch (error) {
    const output = (error as { stdout?: string; stderr?: string }).stdout ?? '';
    throw new Error(`serverless package --stage ${options.stage} failed:\n${output}\n${(error as { stderr?: string }).stderr ?? ''}`, { cause: error });
  } finally {
    rmSync(workFolder, { recursive: true, force: true });
  }
}

export function stackName(stage: string): string {
  return `${SERVICE}-${stage}`;
}

const TABLE_PROPERTIES = ['TableName', 'AttributeDefinitions', 'KeySchema', 'GlobalSecondaryIndexes', 'LocalSecondaryIndexes', 'BillingMode'];

/** The template's tables as CreateTable calls (the emulator ignores encryption, recovery and TTL). */
export function tablesOf(template: ResolvedTemplate): CreateTableCommandInput[] {
  return template.ofType('AWS::DynamoDB::Table').map((table) => {
    const picked: Record<string, Json> = {};
    for (const name of TABLE_PROPERTIES) if (table.properties[name] !== undefined) picked[name] = table.properties[name] ?? null;
    return picked as unknown as CreateTableCommandInput;
  });
}

export function bucketsOf(template: ResolvedTemplate): string[] {
  return template.ofType('AWS::S3::Bucket').filter((bucket) => bucket.logicalId !== 'ServerlessDeploymentBucket').map((bucket) => template.physicalName(bucket.logicalId));
}

export function queuesOf(template: ResolvedTemplate): string[] {
  return template.ofType('AWS::SQS::Queue').map((queue) => template.physicalName(queue.logicalId).split('/').pop() ?? '');
}

/** The event buses the local account has: `default`, as every account does, and each one a function's EVENT_BUS_NAME names. */
export function busesOf(template: ResolvedTemplate): string[] {
  const named = template.ofType('AWS::Lambda::Function').map((fn) => {
    const environment = fn.properties.Environment as { Variables?: Record<string, Json> } | undefined;
    return environment?.Variables?.EVENT_BUS_NAME;
  });
  return [...new Set(['default', ...named.filter((name): name is string => typeof name === 'string' && name !== '')])];
}
