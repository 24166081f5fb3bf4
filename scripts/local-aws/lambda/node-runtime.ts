/**
 * The Node.js a local container runs: the major its Lambda runtime names (`nodejs24.x` → 24), as
 * Lambda picks it, not whichever Node started the stack. The project installs its own (the
 * `node-linux-<arch>` package in package.json, an exact version); a Node of that major running
 * the stack does as well. A runtime neither can give is refused at start, not run on another Node.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '../../..');

/** The Node the project installs for this machine, if npm installed one. */
function projectNode(): { file: string; version: string } | undefined {
  const folder = path.join(root, 'node_modules', `node-${process.platform}-${process.arch}`);
  const file = path.join(folder, 'bin', 'node');
  if (!existsSync(file)) return undefined;
  const { version } = JSON.parse(readFileSync(path.join(folder, 'package.json'), 'utf8')) as { version: string };
  return { file, version };
}

function majorOf(version: string): string {
  return version.replace(/^v/, '').split('.')[0] ?? '';
}

/** The Node binary for `runtime` (the template's `Runtime`, e.g. `nodejs24.x`). */
export function nodeBinaryFor(runtime: string): string {
  const major = /^nodejs(\d+)\.x$/.exec(runtime)?.[1];
  if (!major) throw new Error(`Runtime ${runtime} is not a Node.js runtime: the local Lambda runs only those.`);
  const candidates = [projectNode(), { file: process.execPath, version: process.version }];
  const found = candidates.find((candidate) => candidate && majorOf(candidate.version) === major);
  if (!found) {
    throw new Error(
      `Runtime ${runtime} needs Node ${major}: the project installs ${projectNode()?.version ?? 'none for this platform'} and ${process.version} runs this; ` +
        `run npm ci (Linux x64, arm64) or put a Node ${major} first on PATH.`,
    );
  }
  return found.file;
}
