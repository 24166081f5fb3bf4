/**
 * The harness's two kinds of child process, both speaking one JSON line on stdout:
 * a job prints its result as its last line and exits; a service prints its address once it
 * is ready and runs until it is stopped.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ChildOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** The Node binary to run (this process's unless given: bench/compare.ts pairs two). */
  node?: string;
}

/**
 * Runs `node ...args` to its end and parses the last line it printed. BENCH_NODE_ARGS (e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof`, which NODE_OPTIONS refuses) goes before the args.
 */
export function runJsonJob<T>(args: string[], options: ChildOptions): Promise<T> {
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  return new Promise((resolve, reject) => {
    const child = spawn(options.node ?? process.execPath, [...nodeArgs, ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`node ${args[0] ?? ''} exited ${code}:\n${stderr || stdout}`.slice(0, 4000)));
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`node ${args[0] ?? ''} printed no JSON result:\n${stdout}\n${stderr}`.slice(0, 4000)));
      }
    });
  });
}

export interface ServiceChild<T> {
  info: T;
  pid: number;
  stop(): Promise<void>;
}

/**
 * For a service child: exit when the harness does, however it ends (its stdin, a pipe from the
 * harness, closes then). Without it a harness killed by a signal left its servers running.
 */
export function exitWithParent(): void {
  process.stdin.on('close', () => process.exit(0));
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

/** Starts `node ...args` and waits for the JSON line it prints when it is ready. */
export function startJsonService<T>(args: string[], options: ChildOptions, readyTimeoutMs = 60_000): Promise<ServiceChild<T>> {
  return new Promise((resolve, reject) => {
    // stdin is a pipe the child watches (exitWithParent): it closes when this process ends.
    const child = spawn(process.execPath, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${args.join(' ')} was not ready within ${readyTimeoutMs} ms:\n${stderr}`));
    }, readyTimeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node ${args.join(' ')} exited (${code}) before it was ready:\n${stderr}`));
    });
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      clearTimeout(timer);
      child.stdout.resume();
      resolve({
        info: JSON.parse(line) as T,
        pid: child.pid ?? -1,
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(killer);
        },
      });
    });
  });
}
