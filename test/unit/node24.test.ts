/**
 * scripts/node24, through which package.json's scripts and .ci/run run everything: the command
 * runs on the project's Node 24 whatever Node runs npm, and on a machine where no Node 24 is to be
 * found it stops with a message rather than running the tools on another Node.
 */
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const wrapper = path.resolve(__dirname, '../../scripts/node24');
const scratch = mkdtempSync(path.join(tmpdir(), 'bkpaas-node24-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('scripts/node24', () => {
  // Where npm installed the project's binary (Linux x64, arm64); elsewhere a Node 24 of one's own runs
  // the suite. CI installs it (.ci/run: npm ci), so there a missing binary fails instead of skipping.
  it.skipIf(!process.env.CI && !existsSync(path.resolve(__dirname, '../../node_modules/.bin/node')))("runs its command with the project's Node 24 first on PATH, even when an older node comes first", async () => {
    // Prepare: an older "node" first on PATH, as on a machine whose system Node is 20.
    const older = path.join(scratch, 'older-bin');
    mkdirSync(older);
    writeFileSync(path.join(older, 'node'), '#!/bin/sh\necho v20.20.2\n');
    chmodSync(path.join(older, 'node'), 0o755);

    const { stdout } = await run(wrapper, ['node', '-p', 'process.versions.node'], { env: { ...process.env, PATH: `${older}:${process.env.PATH ?? ''}` } });

    expect(stdout.trim()).toMatch(/^24\./);
  });

  it('stops with a message naming the Node it found when no Node 24 is installed or on PATH', async () => {
    // Prepare: the wrapper in a checkout without node_modules, an older node the only one on PATH.
    const checkout = path.join(scratch, 'checkout');
    mkdirSync(path.join(checkout, 'scripts'), { recursive: true });
    copyFileSync(wrapper, path.join(checkout, 'scripts', 'node24'));
    const older = path.join(scratch, 'only-bin');
    mkdirSync(older);
    writeFileSync(path.join(older, 'node'), '#!/bin/sh\nif [ "$1" = -p ]; then echo 20; else echo v20.20.2; fi\n');
    chmodSync(path.join(older, 'node'), 0o755);

    const result = run(path.join(checkout, 'scripts', 'node24'), ['node', '--version'], { env: { PATH: `${older}:/usr/bin:/bin` } });

    await expect(result).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('needs Node 24, and the node found is v20.20.2') });
  });
});
