/**
 * Packages the service once per test run (`serverless package --stage local`), so every test
 * reads roles, tables, functions and gateway responses from the template CloudFormation would
 * deploy: IAM is enforced from it (test/helpers/storage.ts), not from a hand-kept list.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { packageService } from '../../scripts/local-aws/packaging';

declare module 'vitest' {
  export interface ProvidedContext {
    localPackageDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const outDir = mkdtempSync(path.join(tmpdir(), 'bkpaas-local-package-'));
  await packageService({ stage: 'local', outDir });
  project.provide('localPackageDir', outDir);
  return () => rmSync(outDir, { recursive: true, force: true });
}
