import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/packaged-template.ts'],
    // The handlers validate their configuration when imported, as on a Lambda cold start.
    env: {
      STAGE: 'test',
      VERSIONS_TABLE: 'unit-versions',
      TOKENS_TABLE: 'unit-tokens',
      JOBS_TABLE: 'unit-jobs',
      PACKAGES_BUCKET: 'unit-packages',
      FETCH_FUNCTION_NAME: 'unit-fetch',
      CURSOR_SIGNING_KEY: 'unit-cursor-signing-key-0123456789abcdef',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      // Expected failures log at error level; a passing run prints only its summary (LOG_LEVEL=debug npm test to see them).
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
      // EMF lines would fill the test output; test/integration/core/metrics.test.ts turns them on.
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
    testTimeout: 30_000,
    hookTimeout: 180_000,
  },
});
