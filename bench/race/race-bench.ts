/**
 * Part 4: concurrent requests against the local stack as `npm start` runs it (started by
 * test/helpers/local-stack.ts on free ports, a temporary data directory and its own token):
 * N requests for one new version (exactly one 200, the rest 409, one object) and N requests for
 * distinct versions (all 200, one object per record), each burst timed for requests per second.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startArchiveServer, type ArchiveServer } from '../../test/helpers/archive-server';
import { sampleEntries, tarGzArchive } from '../../test/helpers/archives';
import { freePorts, startLocalStack, type LocalStack } from '../../test/helpers/local-stack';
import { median } from '../harness/stats';
import { MULTIPART_CONTENT_TYPE, originalDocsBody } from '../link-body';
import { moduleContents } from './stack-contents';

export interface BurstFigures {
  requests: number;
  requestsPerSecond: number;
  /** Status code → count, over the last run. */
  statuses: Record<string, number>;
  records: number;
  objects: number;
  /** Every run had the expected outcome. */
  correct: boolean;
  runs: number;
}

export interface RaceFigures {
  archiveBytes: number;
  sameVersion: BurstFigures;
  distinctVersions: BurstFigures;
  stackStartS: number;
}

interface BurstRun {
  seconds: number;
  statuses: Record<string, number>;
  records: number;
  objects: number;
  correct: boolean;
}

const MODULE = 'default';
const ARCHIVE_PATH = '/bench/app-1.0.tar.gz';

async function post(stack: LocalStack, code: string, body: Buffer): Promise<number> {
  const response = await fetch(stack.linkUrl(code, MODULE), {
    method: 'POST',
    headers: { 'X-BKAPI-AUTHORIZATION': JSON.stringify({ access_token: stack.token }), 'Content-Type': MULTIPART_CONTENT_TYPE },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}

async function burst(stack: LocalStack, server: ArchiveServer, n: number, sameVersion: boolean): Promise<BurstRun> {
  const code = `bench-${randomUUID().slice(0, 8)}`;
  const bodies = Array.from({ length: n }, (_, i) => originalDocsBody(server.url(ARCHIVE_PATH), sameVersion ? 'v1' : `v${i + 1}`));
  const started = process.hrtime.bigint();
  const codes = await Promise.all(bodies.map((body) => post(stack, code, body)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const statuses: Record<string, number> = {};
  for (const status of codes) statuses[status] = (statuses[status] ?? 0) + 1;
  const contents = await moduleContents(stack.storage, code, MODULE);
  const consistent = JSON.stringify(contents.recordObjectKeys) === JSON.stringify(contents.objectKeys);
  const correct = sameVersion
    ? statuses['200'] === 1 && statuses['409'] === n - 1 && contents.objectKeys.length === 1 && consistent
    : statuses['200'] === n && contents.objectKeys.length === n && consistent;
  return { seconds, statuses, records: contents.recordObjectKeys.length, objects: contents.objectKeys.length, correct };
}

function summarise(n: number, runs: BurstRun[]): BurstFigures {
  const last = runs[runs.length - 1];
  if (!last) throw new Error('no burst ran');
  return {
    requests: n,
    requestsPerSecond: median(runs.map((run) => n / run.seconds)),
    statuses: last.statuses,
    records: last.records,
    objects: last.objects,
    correct: runs.every((run) => run.correct),
    runs: runs.length,
  };
}

export async function runRaceBench(settings: { concurrency: number; runs: number; log: (line: string) => void }): Promise<RaceFigures> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bkpaas-bench-stack-'));
  const server = await startArchiveServer();
  let stack: LocalStack | undefined;
  try {
    const archive = await tarGzArchive(sampleEntries('bench', 64 * 1024));
    server.serve(ARCHIVE_PATH, archive);
    const starting = process.hrtime.bigint();
    stack = await startLocalStack({ dataDir, token: `bkpaas_bench_${randomUUID()}`, ports: await freePorts() });
    const stackStartS = Number(process.hrtime.bigint() - starting) / 1e9;
    settings.log(`  local stack ready in ${stackStartS.toFixed(1)} s`);
    // Warm-up: the local Lambda service starts each function's first container on first use.
    await burst(stack, server, Math.min(8, settings.concurrency), false);
    const same: BurstRun[] = [];
    const distinct: BurstRun[] = [];
    for (let run = 0; run < settings.runs; run++) {
      same.push(await burst(stack, server, settings.concurrency, true));
      distinct.push(await burst(stack, server, settings.concurrency, false));
      settings.log(
        `  run ${run + 1}/${settings.runs}: same version ${JSON.stringify(same.at(-1)?.statuses)}, ` +
          `distinct ${JSON.stringify(distinct.at(-1)?.statuses)}`,
      );
    }
    return {
      archiveBytes: archive.length,
      sameVersion: summarise(settings.concurrency, same),
      distinctVersions: summarise(settings.concurrency, distinct),
      stackStartS,
    };
  } finally {
    await stack?.stop();
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
