/**
 * `npm start`: the whole service on 127.0.0.1 with no AWS account (DESIGN §7).
 * DynamoDB and S3 emulators with data under .data/, the table and bucket created if missing,
 * an access token seeded and printed, and serverless-offline serving the API and the Lambda
 * API for the worker. Ctrl-C stops everything.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateAccessToken } from '../lib/access-token';
import { ALL_APPS, createToken, findToken } from '../lib/token-store';
import { ensureResources, localClients, LOCAL_CREDENTIALS, LOCAL_REGION, startEmulators } from './local-emulators';
import { jobsTableSpec, tokensTableSpec, versionsTableSpec } from './local-tables';

// Node 20 is what these machines run; the SDK's notice about it adds nothing locally.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const SERVICE = 'bkpaas-source-package-link';
const STAGE = 'local';
const root = path.resolve(__dirname, '..');

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    console.error(`${name} must be a TCP port (1-65535), got "${raw}".`);
    process.exit(2);
  }
  return value;
}

/** LOCAL_ACCESS_TOKEN, or the token generated on first start and kept under the data directory. */
function localAccessToken(dataDir: string): string {
  const chosen = process.env.LOCAL_ACCESS_TOKEN?.trim();
  if (chosen) return chosen;
  const file = path.join(dataDir, 'local-access-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const token = generateAccessToken();
  writeFileSync(file, token + '\n', { mode: 0o600 });
  return token;
}

/** The local token goes through the same store as any other, allowed on every application. */
async function seedToken(endpoints: { dynamodbEndpoint: string; s3Endpoint: string }, table: string, token: string): Promise<void> {
  const { dynamodb, s3 } = localClients(endpoints);
  try {
    if (!(await findToken(dynamodb, table, token))) {
      await createToken(dynamodb, table, { principal: 'local-developer', apps: [ALL_APPS], token });
    }
  } finally {
    dynamodb.destroy();
    s3.destroy();
  }
}

async function main(): Promise<void> {
  const ports = {
    api: port('API_PORT', 3000),
    lambda: port('LAMBDA_PORT', 3002),
    dynamodb: port('DYNAMODB_PORT', 4567),
    s3: port('S3_PORT', 4568),
  };
  const dataDir = path.resolve(root, process.env.LOCAL_DATA_DIR ?? '.data');
  mkdirSync(dataDir, { recursive: true });

  const emulators = await startEmulators({ dataDir, dynamodbPort: ports.dynamodb, s3Port: ports.s3 });
  const tokensTable = `${SERVICE}-${STAGE}-tokens`;
  const bucket = `${SERVICE}-${STAGE}-packages`;
  await ensureResources({
    ...emulators,
    tables: [versionsTableSpec(`${SERVICE}-${STAGE}-versions`), tokensTableSpec(tokensTable), jobsTableSpec(`${SERVICE}-${STAGE}-jobs`)],
    bucket,
  });
  const token = localAccessToken(dataDir);
  await seedToken(emulators, tokensTable, token);

  const offline = spawn(
    process.execPath,
    [require.resolve('osls/bin/serverless.js'), 'offline', 'start', '--stage', STAGE],
    {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        API_PORT: String(ports.api),
        LAMBDA_PORT: String(ports.lambda),
        DYNAMODB_PORT: String(ports.dynamodb),
        S3_PORT: String(ports.s3),
        AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
        AWS_REGION: LOCAL_REGION,
      },
    },
  );

  let stopping = false;
  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (offline.exitCode === null && offline.pid !== undefined) {
      try {
        process.kill(-offline.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
    await emulators.close();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  offline.on('exit', (code) => {
    if (!stopping) console.error(`serverless-offline exited (${code ?? 'signal'}); stopping the local stack.`);
    void stop(code ?? 1);
  });

  // serverless-offline announces readiness on either stream, depending on its log settings.
  let ready = false;
  const watch = (out: NodeJS.WriteStream) => (chunk: Buffer) => {
    out.write(chunk);
    if (!ready && chunk.toString().includes('Server ready')) {
      ready = true;
      printBanner(ports, emulators, dataDir, token);
    }
  };
  offline.stdout.on('data', watch(process.stdout));
  offline.stderr.on('data', watch(process.stderr));
}

function printBanner(
  ports: { api: number; lambda: number },
  emulators: { dynamodbEndpoint: string; s3Endpoint: string },
  dataDir: string,
  token: string,
): void {
  const base = `http://127.0.0.1:${ports.api}/api/bkpaas3/stag`;
  const boundary = '----WebKitFormBoundaryohLfLFHX1EPDP7rB';
  const part = (name: string, value: string): string =>
    `--${boundary}\\r\\nContent-Disposition: form-data; name="${name}"\\r\\n\\r\\n${value}\\r\\n`;
  const body =
    part('package_url', 'http://127.0.0.1:8000/app.tar.gz') + part('version', 'v1') + part('allow_overwrite', 'false') + `--${boundary}--\\r\\n`;
  console.log(
    [
      '',
      'Local stack ready.',
      `  API:          ${base}/bkapps/applications/{code}/modules/{module_name}/source_package/link/`,
      `  Lambda API:   http://127.0.0.1:${ports.lambda}`,
      `  DynamoDB:     ${emulators.dynamodbEndpoint}`,
      `  S3:           ${emulators.s3Endpoint}`,
      `  Data:         ${dataDir}`,
      `  Access token: ${token}`,
      '',
      'Try it (serve an archive first, e.g. `python3 -m http.server 8000` in a folder holding app.tar.gz):',
      '',
      `curl -X POST '${base}/bkapps/applications/sundy820/modules/default/source_package/link/' \\`,
      `  -H 'X-BKAPI-AUTHORIZATION: {"access_token": "${token}"}' \\`,
      `  -H 'Content-Type: multipart/form-data; boundary=${boundary}' \\`,
      `  --data-binary $'${body}'`,
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  console.error('The local stack could not start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
