/**
 * An operator script run as `npm run` runs it: scripts/<script> through tsx on this Node, from the
 * project root, with the environment given (whole: pass `process.env` along to keep it).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const root = path.resolve(__dirname, '../..');

export function runScript(script: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs?: number): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, ['--import', 'tsx', `scripts/${script}`, ...args], { cwd: root, env, ...(timeoutMs ? { timeout: timeoutMs } : {}) });
}
