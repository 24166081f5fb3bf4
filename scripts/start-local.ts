/**
 * `npm start`: the whole service on 127.0.0.1 with no AWS account (docs/design.md#the-local-stack), run from what
 * `serverless package --stage local` builds and declares, so that the local stack refuses what
 * AWS would refuse:
 * - DynamoDB (dynalite) and S3 (s3rver) behind IAM gates that apply each function's role;
 * - a Lambda service running each function in containers of its own, with Lambda's timeouts,
 *   memory sizes, payload limits, asynchronous retries and on-failure destination;
 * - an SQS for that destination, drained by `npm run redrive -- --stage local`;
 * - an EventBridge with the template's bus, keeping the events it takes (`npm run events`);
 * - an API Gateway with the template's routes, authorizer (and its cache) and gateway responses.
 * Data lives under .data/ and survives restarts; Ctrl-C stops everything.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { generateAccessToken } from '../lib/auth/access-token';
import { ALL_APPS, createToken, findToken } from '../lib/auth/token-store';
import { controlPlaneListener, localAccountOptions, reservationRefusal, type LocalAccountOptions } from './local-aws/account';
import { LocalApiGateway } from './local-aws/api/api-gateway';
import { RestApi } from './local-aws/api/rest-api';
import { IamAuthority } from './local-aws/iam';
import { functionsOf } from './local-aws/lambda/functions';
import { LambdaService } from './local-aws/lambda/lambda-service';
import { bucketsOf, busesOf, packageService, stackName, tablesOf } from './local-aws/packaging';
import { LocalSqs } from './local-aws/sqs';
import { LocalEventBus } from './local-aws/event-bus';
import { persistedSecrets } from './local-aws/secrets';
import { loadPackagedTemplate } from './local-aws/template';
import { abortInterruptedUploads, ensureResources, localClients, startEmulators } from './local-emulators';
import { localTerminal, logFileOf, logFormatOf, type LogFormat, type LocalTerminal } from './local-terminal';

const STAGE = 'local';
/** Where the original API's clients find it: the base path a custom domain maps (docs/api.md#base-url-and-authentication). */
const BASE_PATH = '/api/bkpaas3/stag';
const root = path.resolve(__dirname, '..');
// Build output of this stack only: `npm run package` and other stacks never touch it.
const stackDir = path.join(root, '.local-stack', `${process.pid}`);

const HELP = `npm start: the whole service on 127.0.0.1, no AWS account needed.

Environment (all optional):
  API_PORT, LAMBDA_PORT, DYNAMODB_PORT, S3_PORT, SQS_PORT   ports (3000, 3002, 4567, 4568, 4569)
  EVENTS_PORT               EventBridge (4571); a file event-bus/refuse in the data dir makes it refuse
  CONTROL_PORT              API Gateway's account and ACM, for npm run preflight (4570)
  LOCAL_DATA_DIR            data kept across restarts (.data)
  LOCAL_ACCESS_TOKEN        the access token to seed (else one is generated and kept in the data dir)
  LOCAL_ASYNC_RETRY_DELAYS_MS  delays between asynchronous retries (60000,120000: Lambda's pace)
  LOCAL_LAMBDA_MAX_CONTAINERS  containers per function at once (8); more invocations wait
  LOCAL_LAMBDA_CONCURRENCY_QUOTA  the account's Lambda concurrency quota (1000; a new account has 10)
  LOCAL_APIGW_CLOUDWATCH_ROLE_ARN  the API Gateway account's logging role (none)
  LOCAL_ACM_CERTIFICATES    certificates ACM knows: ARN=DOMAIN[:STATUS],... (ISSUED)
  LOG_FORMAT                short: one line per request and job, the JSON logs and metric lines
                            in DATA/logs/functions.log (default); json: the JSON lines here too
  AUTHORIZER_CACHE_TTL, SYNC_BUDGET_MS, LOG_LEVEL, ...   read by serverless.yml when packaging
`;

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    console.error(`${name} must be a TCP port (0-65535), got "${raw}".`);
    process.exit(2);
  }
  return value;
}

function delays(raw: string | undefined): number[] {
  if (!raw) return [60_000, 120_000];
  const values = raw.split(',').map((part) => Number(part.trim()));
  if (values.some((value) => !Number.isInteger(value) || value < 0)) {
    console.error(`LOCAL_ASYNC_RETRY_DELAYS_MS must list milliseconds, got "${raw}".`);
    process.exit(2);
  }
  return values;
}

/** LOCAL_ACCESS_TOKEN wins and is remembered; else the token kept in the data dir, else a new one. */
function localAccessToken(dataDir: string): string {
  const file = path.join(dataDir, 'local-access-token');
  const chosen = process.env.LOCAL_ACCESS_TOKEN?.trim();
  const token = chosen || (existsSync(file) ? readFileSync(file, 'utf8').trim() : '') || generateAccessToken();
  writeFileSync(file, token + '\n', { mode: 0o600 });
  return token;
}

function listen(server: http.Server, wanted: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(wanted, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(HELP);
    return;
  }
  const ports = {
    api: port('API_PORT', 3000),
    lambda: port('LAMBDA_PORT', 3002),
    dynamodb: port('DYNAMODB_PORT', 4567),
    s3: port('S3_PORT', 4568),
    sqs: port('SQS_PORT', 4569),
    control: port('CONTROL_PORT', 4570),
    events: port('EVENTS_PORT', 4571),
  };
  let accountSettings: LocalAccountOptions;
  try {
    accountSettings = localAccountOptions(process.env);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  let logFormat: LogFormat;
  try {
    logFormat = logFormatOf(process.env.LOG_FORMAT);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  const dataDir = path.resolve(root, process.env.LOCAL_DATA_DIR ?? '.data');
  const packageDir = path.join(stackDir, 'package');
  mkdirSync(dataDir, { recursive: true });
  const log = (line: string): void => void process.stderr.write(`${line}\n`);

  const servers: http.Server[] = [];
  let lambda: LambdaService | undefined;
  let closeEmulators: (() => Promise<void>) | undefined;
  let terminal: LocalTerminal | undefined;
  let stopping = false;
  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping the local stack…');
    lambda?.stop();
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
    await closeEmulators?.();
    await terminal?.close();
    rmSync(stackDir, { recursive: true, force: true });
    console.log('Local stack stopped; data kept in', dataDir);
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  console.log('Packaging the service (serverless package --stage local)…');
  await packageService({
    stage: STAGE,
    outDir: packageDir,
    env: { DYNAMODB_PORT: String(ports.dynamodb), S3_PORT: String(ports.s3), LAMBDA_PORT: String(ports.lambda), EVENTS_PORT: String(ports.events) },
  });
  const sqsEndpoint = `http://127.0.0.1:${ports.sqs}`;
  const template = loadPackagedTemplate(packageDir, { stackName: stackName(STAGE), sqsEndpoint, secretValue: persistedSecrets(dataDir) });
  const iam = new IamAuthority(template);
  const onDenied = (line: string): void => log(line);

  const emulators = await startEmulators({ dataDir, dynamodbPort: ports.dynamodb, s3Port: ports.s3, iam: { authority: iam, account: template, onDenied } });
  closeEmulators = () => emulators.close();
  await ensureResources({ ...emulators, tables: tablesOf(template), buckets: bucketsOf(template) });
  for (const bucket of bucketsOf(template)) {
    const aborted = await abortInterruptedUploads(emulators, bucket);
    if (aborted > 0) log(`[local S3] aborted ${aborted} multipart upload(s) a stop of the stack interrupted`);
  }

  const sqs = new LocalSqs({
    dir: path.join(dataDir, 'sqs'),
    queues: template.ofType('AWS::SQS::Queue').map((queue) => ({
      name: template.physicalName(queue.logicalId).split('/').pop() ?? '',
      retentionSeconds: Number(queue.properties.MessageRetentionPeriod ?? 345_600),
    })),
    iam,
    account: template,
    endpoint: () => sqsEndpoint,
    onDenied,
  });
  const sqsServer = http.createServer(sqs.listener());
  servers.push(sqsServer);
  await listen(sqsServer, ports.sqs);

  const bus = new LocalEventBus({ dir: path.join(dataDir, 'event-bus'), buses: busesOf(template), iam, account: template, onDenied });
  const busServer = http.createServer(bus.listener());
  servers.push(busServer);
  await listen(busServer, ports.events);

  terminal = localTerminal({ format: logFormat, file: logFileOf(dataDir), terminal: process.stdout, basePath: BASE_PATH, log });
  const functions = functionsOf(template, packageDir);
  // Lambda refuses to create a function whose reservation the account cannot spare.
  const refusal = reservationRefusal(functions, accountSettings.concurrencyQuota);
  if (refusal) throw new Error(`${refusal} (LOCAL_LAMBDA_CONCURRENCY_QUOTA=${accountSettings.concurrencyQuota})`);
  lambda = await LambdaService.start({
    functions,
    iam,
    account: template,
    accountSettings,
    sqs,
    workDir: path.join(stackDir, 'runtime'),
    asyncDir: path.join(dataDir, 'lambda-async'),
    retryDelaysMs: delays(process.env.LOCAL_ASYNC_RETRY_DELAYS_MS),
    maxContainersPerFunction: port('LOCAL_LAMBDA_MAX_CONTAINERS', 8) || 8,
    output: terminal.functionOutput,
    onInvoked: (fn, outcome, ms) => terminal?.onInvoked(fn, outcome, ms),
    log,
    onDenied,
  });
  const lambdaServer = http.createServer(lambda.listener());
  servers.push(lambdaServer);
  await listen(lambdaServer, ports.lambda);

  const controlServer = http.createServer(controlPlaneListener({ ...accountSettings, iam, account: template }));
  servers.push(controlServer);
  await listen(controlServer, ports.control);

  const gateway = new LocalApiGateway({ api: new RestApi(template), lambda, account: template, stage: STAGE, basePath: BASE_PATH, log, onAnswered: (request, answer) => terminal?.onAnswered(request, answer) });
  const apiServer = http.createServer(gateway.listener());
  servers.push(apiServer);
  await listen(apiServer, ports.api);

  const token = localAccessToken(dataDir);
  const { dynamodb, s3 } = localClients(emulators);
  try {
    const tokensTable = template.physicalName('TokensTable');
    if (!(await findToken(dynamodb, tokensTable, token))) {
      await createToken(dynamodb, tokensTable, { principal: 'local-developer', apps: [ALL_APPS], token });
    }
  } finally {
    dynamodb.destroy();
    s3.destroy();
  }
  printBanner({ ...ports, base: `http://127.0.0.1:${ports.api}${BASE_PATH}` }, emulators, sqsEndpoint, dataDir, token);
  if (accountSettings.concurrencyQuota !== 1000) log(`[local Lambda] account concurrency quota ${accountSettings.concurrencyQuota}`);
}

/** What a newcomer needs first, in lines that fit 100 columns (a route is printed, never wrapped). */
function printBanner(
  ports: { lambda: number; control: number; events: number; base: string },
  emulators: { dynamodbEndpoint: string; s3Endpoint: string },
  sqsEndpoint: string,
  dataDir: string,
  token: string,
): void {
  console.log(
    [
      '',
      'Local stack ready.',
      `  API base      ${ports.base}`,
      '  Routes        {base}/bkapps/applications/{code}/modules/{module_name}/source_package/...',
      '                link/  link/jobs/  link/jobs/{job_id}/  {version}/  (docs/api.md)',
      `  Lambda API    http://127.0.0.1:${ports.lambda}`,
      `  DynamoDB      ${emulators.dynamodbEndpoint}`,
      `  S3            ${emulators.s3Endpoint}`,
      `  SQS           ${sqsEndpoint}`,
      `  EventBridge   http://127.0.0.1:${ports.events} (a job's end: npm run events -- --follow)`,
      `  Control       http://127.0.0.1:${ports.control} (API Gateway account, ACM: npm run preflight)`,
      `  Data          ${dataDir} (delete it, stopped, to start afresh)`,
      `  Logs          ${logFileOf(dataDir)} (JSON logs, metric lines)`,
      `  Access token  ${token}`,
      '',
      'Try it: serve an archive (`python3 -m http.server 8000 --bind 127.0.0.1` in a folder holding',
      'app.tar.gz), then:',
      '',
      `  BASE=${ports.base}`,
      `  TOKEN=${token}`,
      '  curl "$BASE/bkapps/applications/sundy820/modules/default/source_package/link/" \\',
      '    -H "X-BKAPI-AUTHORIZATION: {\\"access_token\\": \\"$TOKEN\\"}" \\',
      '    -F package_url=http://127.0.0.1:8000/app.tar.gz -F version=1.0.0 -F allow_overwrite=false',
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  console.error('The local stack could not start:', error instanceof Error ? error.message : error);
  rmSync(stackDir, { recursive: true, force: true });
  process.exit(1);
});
