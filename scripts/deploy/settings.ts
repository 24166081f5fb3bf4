/**
 * The deploy settings: the variables serverless.yml reads when it packages a stage, where each
 * comes from, and the region every script uses. `serverless deploy` reads `.env.<stage>` beside
 * serverless.yml (`useDotenv`; `.env` when there is no stage file), and a variable set in the shell
 * wins over the file, so a setting written there once survives a redeploy from a fresh shell. The
 * scripts read the same file the same way, so they agree with the deploy on the region.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';

const root = path.resolve(__dirname, '../..');

/** Each deploy setting with its default (empty: none) and what it does; docs/operations.md lists the same. */
export const DEPLOY_SETTINGS: Record<string, { default: string; meaning: string }> = {
  AWS_REGION: { default: 'us-east-1', meaning: 'the region (--region wins)' },
  CUSTOM_DOMAIN_NAME: { default: '', meaning: 'custom domain serving api/bkpaas3/<stage>' },
  CUSTOM_DOMAIN_CERTIFICATE_ARN: { default: '', meaning: "its ACM certificate, in the stack's region" },
  CUSTOM_DOMAIN_HOSTED_ZONE_ID: { default: '', meaning: 'Route 53 zone for the alias record' },
  ALARM_EMAIL: { default: '', meaning: 'address subscribed to the alarms' },
  ALARM_FETCH_ERRORS: { default: '5', meaning: 'worker errors in 5 min before FetchErrorsAlarm' },
  ALARM_API_5XX_RATE: { default: '0.05', meaning: 'share of 5XX answers before Api5xxRateAlarm' },
  ALARM_LINK_P99_MS: { default: '27000', meaning: 'link p99 latency before LinkLatencyP99Alarm' },
  FETCH_RESERVED_CONCURRENCY: { default: '', meaning: "fetch's reserved concurrency (none: the account's pool)" },
  API_RATE_LIMIT: { default: '100', meaning: "the stage's requests per second" },
  API_BURST_LIMIT: { default: '200', meaning: "the stage's burst" },
  AUTHORIZER_CACHE_TTL: { default: '60', meaning: 'seconds an authorizer answer is cached' },
  EVENT_BUS_NAME: { default: 'default', meaning: "the EventBridge bus a job's end goes to (the account's default bus)" },
  APIGW_CLOUDWATCH_ROLE: { default: 'existing', meaning: "existing: use the account's API Gateway logging role; create: replace it" },
  // Passed into every function's environment (docs/operations.md, "Function environment"); empty: the function's default.
  ...Object.fromEntries(
    Object.entries({ JOB_TTL_SECONDS: '604800', SYNC_BUDGET_MS: '25000', JOB_LEASE_SECONDS: '60', MAX_PACKAGE_BYTES: '536870912', REQUIRE_MATCHING_APP_CODE: 'false', LOG_LEVEL: 'info' })
      .concat(
        ['URL_ALLOWED_HOSTS', 'URL_DENIED_HOSTS', 'MAX_ARCHIVE_ENTRIES', 'MAX_UNCOMPRESSED_BYTES', 'MAX_REQUEST_BODY_BYTES', 'DOWNLOAD_CONNECT_TIMEOUT_MS', 'DOWNLOAD_IDLE_TIMEOUT_MS', 'DOWNLOAD_TOTAL_TIMEOUT_MS', 'CLEANUP_MARGIN_MS', 'UPLOAD_PART_BYTES', 'UPLOAD_QUEUE_SIZE'].map((name) => [name, '']),
      )
      .map(([name, fallback]) => [name, { default: fallback, meaning: 'function environment' }]),
  ),
};

export type SettingSource = 'command line' | 'shell' | string;

export interface StageSettings {
  stage: string;
  /** The file serverless reads for this stage, when there is one. */
  file: string | undefined;
  values: Record<string, string>;
  /** Where each value came from: the shell, the file, or the default. */
  value(name: string): { value: string; source: SettingSource };
}

/** The file `serverless` loads for a stage: `.env.<stage>`, else `.env`, else none. */
export function settingsFile(stage: string, directory = root): string | undefined {
  for (const name of [`.env.${stage}`, '.env']) {
    const file = path.join(directory, name);
    if (existsSync(file)) return file;
  }
  return undefined;
}

/** The settings a deploy of `stage` would see, from `env` (the shell) over the stage's file. */
export function stageSettings(stage: string, env: NodeJS.ProcessEnv = process.env, directory = root): StageSettings {
  const file = settingsFile(stage, directory);
  const fromFile = file ? parseEnv(readFileSync(file, 'utf8')) : {};
  const fileName = file ? path.basename(file) : '';
  const value = (name: string): { value: string; source: SettingSource } => {
    const shell = env[name];
    if (shell !== undefined) return { value: shell, source: 'shell' };
    const written = fromFile[name];
    if (written !== undefined) return { value: written, source: fileName };
    return { value: DEPLOY_SETTINGS[name]?.default ?? '', source: 'default' };
  };
  const values = Object.fromEntries(Object.keys(DEPLOY_SETTINGS).map((name) => [name, value(name).value]));
  return { stage, file, values, value };
}

/** The region as `serverless deploy` takes it: --region, else AWS_REGION (shell, then the stage's file), else us-east-1. */
export function regionFor(stage: string, flag: string | undefined, env: NodeJS.ProcessEnv = process.env, directory = root): string {
  if (flag?.trim()) return flag.trim();
  return stageSettings(stage, env, directory).value('AWS_REGION').value || 'us-east-1';
}
