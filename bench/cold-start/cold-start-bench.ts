/**
 * Part 3: each function's minified bundle (serverless.yml's esbuild options) and the time a
 * fresh `node` process takes to load it and be ready to handle — module evaluated, configuration
 * validated, clients constructed — against a floor bundle holding only the SDK clients that
 * function needs. Function and floor take turns, so drift touches both alike.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundle } from '../harness/bundle';
import { HANDLER_ENV } from '../harness/handler-env';
import { median } from '../harness/stats';

export interface ColdStartFigures {
  name: string;
  bundleBytes: number;
  floorBundleBytes: number;
  /** The five packages that weigh most in the bundle, largest first. */
  heaviest: { name: string; bytes: number }[];
  /** require() of the bundle until the handler is exported: what Lambda's init phase pays beyond Node's own start. */
  loadMs: number;
  floorLoadMs: number;
  /** Process start until ready, Node's own start-up included. */
  readyMs: number;
  floorReadyMs: number;
  runs: number;
  /** Per turn, the bundle's init ÷ its floor's, the two loaded moments apart. */
  loadRatios: number[];
}

const root = path.resolve(__dirname, '../..');

// serverless.yml's functions; add a function here when one is added there.
const FUNCTIONS = [
  { name: 'authorize', entry: 'handlers/authorize.ts', floor: 'bench/cold-start/floor-dynamodb.ts' },
  { name: 'link', entry: 'handlers/link.ts', floor: 'bench/cold-start/floor-link.ts' },
  { name: 'jobStatus', entry: 'handlers/job-status.ts', floor: 'bench/cold-start/floor-dynamodb.ts' },
  { name: 'fetch', entry: 'handlers/fetch.ts', floor: 'bench/cold-start/floor-fetch.ts' },
  { name: 'packages', entry: 'handlers/packages.ts', floor: 'bench/cold-start/floor-fetch.ts' },
  { name: 'fetchFailures', entry: 'handlers/fetch-failures.ts', floor: 'bench/cold-start/floor-fetch-failures.ts' },
];

// Runs in the fresh process: timestamps from the process's own time origin.
const PROBE = `
const t0 = performance.now();
const loaded = require(process.env.BENCH_BUNDLE);
const t1 = performance.now();
if (typeof loaded.handler !== 'function') throw new Error('the bundle exports no handler');
process.stdout.write(JSON.stringify({ load_ms: t1 - t0, ready_ms: t1 }) + '\\n');
`;

interface Probe {
  load_ms: number;
  ready_ms: number;
}

function probe(bundleFile: string): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', PROBE], {
      env: { PATH: process.env.PATH, ...HANDLER_ENV, BENCH_BUNDLE: bundleFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`loading ${bundleFile} failed (${code}):\n${out}`));
      resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as Probe);
    });
  });
}

export async function runColdStartBench(settings: { warmups: number; runs: number }): Promise<ColdStartFigures[]> {
  const scratch = mkdtempSync(path.join(tmpdir(), 'bkpaas-bench-cold-'));
  try {
    const results: ColdStartFigures[] = [];
    for (const fn of FUNCTIONS) {
      const built = await bundle(path.join(root, fn.entry), path.join(scratch, fn.name, 'handler.js'));
      const floor = await bundle(path.join(root, fn.floor), path.join(scratch, fn.name, 'floor.js'));
      const own: Probe[] = [];
      const base: Probe[] = [];
      for (let run = 0; run < settings.warmups + settings.runs; run++) {
        // Alternate which goes first, so neither always finds the other's pages in the cache.
        let ownProbe: Probe;
        let floorProbe: Probe;
        if (run % 2 === 0) {
          ownProbe = await probe(built.file);
          floorProbe = await probe(floor.file);
        } else {
          floorProbe = await probe(floor.file);
          ownProbe = await probe(built.file);
        }
        if (run < settings.warmups) continue;
        own.push(ownProbe);
        base.push(floorProbe);
      }
      const heaviest = [...built.bytesByPackage]
        .sort((x, y) => y[1] - x[1])
        .slice(0, 5)
        .map(([name, bytes]) => ({ name, bytes }));
      results.push({
        name: fn.name,
        bundleBytes: built.bytes,
        floorBundleBytes: floor.bytes,
        heaviest,
        loadMs: median(own.map((p) => p.load_ms)),
        floorLoadMs: median(base.map((p) => p.load_ms)),
        readyMs: median(own.map((p) => p.ready_ms)),
        floorReadyMs: median(base.map((p) => p.ready_ms)),
        runs: settings.runs,
        loadRatios: own.map((p, i) => p.load_ms / (base[i] as Probe).load_ms),
      });
    }
    return results;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
