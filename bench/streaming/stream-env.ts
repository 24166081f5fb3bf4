/**
 * The environment every streaming child runs with: the worker's configuration (lib/core/config.ts)
 * pointed at the emulators, so the worker and the baselines read the same upload settings.
 */
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../scripts/local-emulators';

export const BENCH_TABLE = 'bench-versions';
export const BENCH_TOKENS_TABLE = 'bench-tokens';
export const BENCH_JOBS_TABLE = 'bench-jobs';
export const BENCH_BUCKET = 'bench-packages';

export interface EmulatorInfo {
  dynamodbEndpoint: string;
  s3Endpoint: string;
  s3DataDir: string;
}

export function streamChildEnv(emulators: EmulatorInfo, scratchDir: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    STAGE: 'local',
    ALLOW_PRIVATE_URLS: 'true',
    VERSIONS_TABLE: BENCH_TABLE,
    TOKENS_TABLE: BENCH_TOKENS_TABLE,
    JOBS_TABLE: BENCH_JOBS_TABLE,
    PACKAGES_BUCKET: BENCH_BUCKET,
    FETCH_FUNCTION_NAME: 'unused',
    CURSOR_SIGNING_KEY: 'bench-cursor-signing-key-0123456789abcdef',
    DYNAMODB_ENDPOINT: emulators.dynamodbEndpoint,
    S3_ENDPOINT: emulators.s3Endpoint,
    // The default caps (512 MiB, 200,000 entries, 4 GiB unpacked) are below the 1 GiB archives.
    MAX_PACKAGE_BYTES: String(4 * 1024 * 1024 * 1024),
    MAX_ARCHIVE_ENTRIES: String(10_000_000),
    MAX_UNCOMPRESSED_BYTES: String(64 * 1024 * 1024 * 1024),
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_REGION: LOCAL_REGION,
    LOG_LEVEL: 'warn',
    BENCH_SCRATCH_DIR: scratchDir,
    // Upload settings pass through when the caller sets them (to compare part and queue sizes).
    ...(process.env.UPLOAD_PART_BYTES ? { UPLOAD_PART_BYTES: process.env.UPLOAD_PART_BYTES } : {}),
    ...(process.env.UPLOAD_QUEUE_SIZE ? { UPLOAD_QUEUE_SIZE: process.env.UPLOAD_QUEUE_SIZE } : {}),
  };
}
