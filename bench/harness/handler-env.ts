/**
 * The environment a handler module needs to load outside Lambda: dummy values like
 * vitest.config.mts's (no AWS is reached). Stage `stag`, so the production paths run.
 */
export const HANDLER_ENV = {
  STAGE: 'stag',
  VERSIONS_TABLE: 'bench-versions',
  TOKENS_TABLE: 'bench-tokens',
  JOBS_TABLE: 'bench-jobs',
  PACKAGES_BUCKET: 'bench-packages',
  FETCH_FUNCTION_NAME: 'bench-fetch',
  CURSOR_SIGNING_KEY: 'bench-cursor-signing-key-0123456789abcdef',
  FETCH_FAILURES_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench-failures',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'BENCH',
  AWS_SECRET_ACCESS_KEY: 'BENCH',
  AWS_NODEJS_CONNECTION_REUSE_ENABLED: '1',
  LOG_LEVEL: 'warn',
} as const;
