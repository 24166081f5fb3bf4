/**
 * fetch starts through handlers/fetch-runtime.sh (AWS_LAMBDA_EXEC_WRAPPER): Lambda hands it the
 * runtime's command line, and it must start that same command with V8's larger initial old
 * generation and smaller young one (bench/TUNING.md has the figures). Run here with the real Node as Lambda would run it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = path.resolve(__dirname, '../../..');
const wrapper = path.join(root, 'handlers/fetch-runtime.sh');

interface Fn {
  environment?: Record<string, unknown>;
  package?: { patterns?: string[] };
}

function functions(): Record<string, Fn> {
  return (parse(readFileSync(path.join(root, 'serverless.yml'), 'utf8')) as { functions: Record<string, Fn> }).functions;
}

describe('the runtime wrapper fetch starts through', () => {
  it('starts the node it is given with the two V8 options, then the runtime\'s own options and script, arguments intact', () => {
    const script = 'console.log(JSON.stringify({ execArgv: process.execArgv, argv: process.argv.slice(1) }))';

    const out = JSON.parse(execFileSync(wrapper, [process.execPath, '--no-warnings', '-e', script, 'an argument', '--another'], { encoding: 'utf8' })) as { execArgv: string[]; argv: string[] };

    expect(out.execArgv).toEqual(['--initial-old-space-size=64', '--max-semi-space-size=1', '--no-warnings', '-e', script]);
    expect(out.argv).toEqual(['an argument', '--another']);
  });

  it('is executable, packaged with fetch and named by its AWS_LAMBDA_EXEC_WRAPPER, and no other function starts through it', () => {
    const all = functions();

    expect(statSync(wrapper).mode & 0o111).toBe(0o111);
    expect(all.fetch?.environment?.AWS_LAMBDA_EXEC_WRAPPER).toBe('/var/task/handlers/fetch-runtime.sh');
    expect(all.fetch?.package?.patterns).toContain('handlers/fetch-runtime.sh');
    const others = Object.entries(all).filter(([name, fn]) => name !== 'fetch' && fn.environment?.AWS_LAMBDA_EXEC_WRAPPER !== undefined);
    expect(others).toEqual([]);
  });
});
