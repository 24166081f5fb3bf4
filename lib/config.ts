/**
 * Every environment variable the functions read, parsed and validated once at cold start.
 * A bad value fails the container's start with the variable's name, not a request later.
 */

export interface Config {
  stage: string;
  region: string;
  versionsTable: string;
  packagesBucket: string;
  fetchFunctionName: string;
  /** Loopback and private package URLs; only ever true in the local stage (DESIGN §7). */
  allowPrivateUrls: boolean;
  tokensTable: string;
  jobsTable: string;
  /** Seconds a job record is kept before DynamoDB's TTL removes it. */
  jobTtlSeconds: number;
  /** How long `link` waits for the worker before answering 202 instead (API Gateway stops at 29 s). */
  syncBudgetMs: number;
  /** Deliveries of one asynchronous event: 1 + the function's MaximumRetryAttempts. */
  fetchMaxAttempts: number;
  /**
   * How long a worker's hold on a job lasts without renewal; it renews (with its progress) a few
   * times per lease, so a worker that died lets the next delivery take over within this time.
   */
  jobLeaseMs: number;
  /** The on-failure queue (fetchFailures forwards Lambda's records there); empty elsewhere. */
  failuresQueueUrl: string;
  /** Host names package URLs may use (empty: any public host), and host names refused. */
  allowedHosts: string[];
  deniedHosts: string[];
  maxPackageBytes: number;
  /** Archive safety: the most entries, and uncompressed bytes, a package may hold. */
  maxArchiveEntries: number;
  maxUncompressedBytes: number;
  maxRequestBodyBytes: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  totalTimeoutMs: number;
  /** Time the worker keeps back from its deadline for aborting uploads and cleaning up. */
  cleanupMarginMs: number;
  uploadPartBytes: number;
  uploadQueueSize: number;
  /**
   * List archives on a worker thread (lib/listing-thread.ts). Off by default: measured on two
   * cores it cost more CPU and more time than listing in process (BENCHMARKS.md, issue 13).
   */
  listingThread: boolean;
  /** Refuse (422) a package whose app description names another application than the path's. */
  requireMatchingAppCode: boolean;
  endpoints: { dynamodb?: string; s3?: string; lambda?: string };
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`Environment variable ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

function required(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(name, 'is required but not set.');
  return value;
}

function optional(env: Env, name: string, fallback: string): string {
  const value = env[name]?.trim();
  return value ? value : fallback;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}".`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}.`);
  return value;
}

function hostList(env: Env, name: string): string[] {
  const entries = optional(env, name, '')
    .split(',')
    .map((entry) => entry.trim().toLowerCase().replace(/\.$/, ''))
    .filter(Boolean);
  for (const entry of entries) {
    if (!/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(entry)) {
      throw new ConfigError(name, `must list host names or *.domain patterns, got "${entry}".`);
    }
  }
  return entries;
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(name, `must be true or false, got "${raw}".`);
}

function endpoint(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be an http(s) URL, got "${raw}".`);
  }
  // "localhost:4567" parses as a URL with the scheme "localhost:": refuse it here, not at the first call.
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(name, `must be an http(s) URL, got "${raw}".`);
  }
  return url.toString();
}

const MiB = 1024 * 1024;

// Lambda's advanced logging controls set AWS_LAMBDA_LOG_LEVEL; it wins over LOG_LEVEL.
const LAMBDA_LOG_LEVELS: Record<string, Config['logLevel']> = { TRACE: 'debug', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error', FATAL: 'error' };

function logLevelOf(env: Env): Config['logLevel'] {
  const lambdaLevel = env.AWS_LAMBDA_LOG_LEVEL?.trim().toUpperCase();
  if (lambdaLevel) {
    const level = LAMBDA_LOG_LEVELS[lambdaLevel];
    if (!level) throw new ConfigError('AWS_LAMBDA_LOG_LEVEL', `must be TRACE, DEBUG, INFO, WARN, ERROR or FATAL, got "${lambdaLevel}".`);
    return level;
  }
  const level = optional(env, 'LOG_LEVEL', 'info');
  if (!['debug', 'info', 'warn', 'error'].includes(level)) {
    throw new ConfigError('LOG_LEVEL', `must be debug, info, warn or error, got "${level}".`);
  }
  return level as Config['logLevel'];
}

export function loadConfig(env: Env = process.env): Config {
  const stage = required(env, 'STAGE');
  const allowPrivateUrls = flag(env, 'ALLOW_PRIVATE_URLS', false);
  if (allowPrivateUrls && stage !== 'local') {
    throw new ConfigError('ALLOW_PRIVATE_URLS', `may only be true in the local stage, not "${stage}".`);
  }
  const logLevel = logLevelOf(env);
  return {
    stage,
    region: optional(env, 'AWS_REGION', 'us-east-1'),
    versionsTable: required(env, 'VERSIONS_TABLE'),
    packagesBucket: required(env, 'PACKAGES_BUCKET'),
    fetchFunctionName: required(env, 'FETCH_FUNCTION_NAME'),
    allowPrivateUrls,
    tokensTable: required(env, 'TOKENS_TABLE'),
    jobsTable: required(env, 'JOBS_TABLE'),
    jobTtlSeconds: integer(env, 'JOB_TTL_SECONDS', 7 * 24 * 3600, 60, 365 * 24 * 3600),
    syncBudgetMs: integer(env, 'SYNC_BUDGET_MS', 25_000, 100, 28_000),
    fetchMaxAttempts: integer(env, 'FETCH_MAX_ATTEMPTS', 3, 1, 3),
    jobLeaseMs: integer(env, 'JOB_LEASE_SECONDS', 60, 2, 900) * 1000,
    failuresQueueUrl: optional(env, 'FETCH_FAILURES_QUEUE_URL', ''),
    allowedHosts: hostList(env, 'URL_ALLOWED_HOSTS'),
    deniedHosts: hostList(env, 'URL_DENIED_HOSTS'),
    maxArchiveEntries: integer(env, 'MAX_ARCHIVE_ENTRIES', 200_000, 1, 10_000_000),
    maxUncompressedBytes: integer(env, 'MAX_UNCOMPRESSED_BYTES', 4 * 1024 * MiB, 1, 1024 * 1024 * MiB),
    maxPackageBytes: integer(env, 'MAX_PACKAGE_BYTES', 512 * MiB, 1, 5 * 1024 * 1024 * MiB),
    maxRequestBodyBytes: integer(env, 'MAX_REQUEST_BODY_BYTES', 64 * 1024, 1024, 6 * MiB),
    connectTimeoutMs: integer(env, 'DOWNLOAD_CONNECT_TIMEOUT_MS', 10_000, 1, 900_000),
    idleTimeoutMs: integer(env, 'DOWNLOAD_IDLE_TIMEOUT_MS', 30_000, 1, 900_000),
    totalTimeoutMs: integer(env, 'DOWNLOAD_TOTAL_TIMEOUT_MS', 840_000, 1, 900_000),
    cleanupMarginMs: integer(env, 'CLEANUP_MARGIN_MS', 10_000, 0, 120_000),
    uploadPartBytes: integer(env, 'UPLOAD_PART_BYTES', 8 * MiB, 5 * MiB, 512 * MiB),
    uploadQueueSize: integer(env, 'UPLOAD_QUEUE_SIZE', 4, 1, 32),
    listingThread: flag(env, 'LISTING_THREAD', false),
    requireMatchingAppCode: flag(env, 'REQUIRE_MATCHING_APP_CODE', false),
    endpoints: {
      dynamodb: endpoint(env, 'DYNAMODB_ENDPOINT'),
      s3: endpoint(env, 'S3_ENDPOINT'),
      lambda: endpoint(env, 'LAMBDA_ENDPOINT'),
    },
    logLevel,
  };
}
