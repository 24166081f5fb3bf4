/**
 * The code layout (docs/design.md, "Code layout") as `.dependency-cruiser.cjs` states it: no
 * import circle, adapters never reach up into the use cases or into folders above them, handlers
 * import only lib/, and lib/ never imports tooling. The rules run on the real tree, and on a
 * fixture tree that breaks each of them once, so that a rule that could not fail would show.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../..');
const cli = path.join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

async function violations(cwd: string, folders: string[]): Promise<Violation[]> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [cli, '--config', path.join(root, '.dependency-cruiser.cjs'), '--output-type', 'json', ...folders],
    { cwd, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
  );
  const report = JSON.parse(stdout) as { summary: { violations: Violation[]; totalCruised: number } };
  expect(report.summary.totalCruised).toBeGreaterThan(0);
  return report.summary.violations;
}

describe('the layering rules', () => {
  it('hold for handlers, lib, scripts and bench', async () => {
    const found = await violations(root, ['handlers', 'lib', 'scripts', 'bench']);

    expect(found.map((violation) => `${violation.rule.name}: ${violation.from} -> ${violation.to}`)).toEqual([]);
  });

  it('catch a circle, an adapter importing a use case, core importing a layer, and a handler importing tooling', async () => {
    const found = await violations(path.join(root, 'test/fixtures/bad-layout'), ['handlers', 'lib', 'scripts']);

    expect(found.map((violation) => violation.rule.name).sort()).toEqual(
      ['adapters-not-into-use-cases', 'archive-layer', 'core-layer', 'handlers-only-into-lib', 'no-circular'].sort(),
    );
  });
});
