/**
 * What the worker's integration tests share: the DynamoDB and S3 emulators under the roles of the
 * packaged template (`startTestStorage`) and a real archive server on 127.0.0.1, started before a
 * file's tests and stopped, awaited, after them. One place, instead of the same hooks in every file.
 */
import { afterAll, beforeAll } from 'vitest';
import { startArchiveServer, type ArchiveServer } from './archive-server';
import { startTestStorage, type TestStorage } from './storage';

export interface WorkerRig {
  /** The emulators, set once the file's tests begin. */
  readonly storage: TestStorage;
  /** The archive server, set once the file's tests begin. */
  readonly server: ArchiveServer;
}

/** Registers the file's hooks; read `storage` and `server` inside tests and later hooks. */
export function useWorkerRig(): WorkerRig {
  let storage: TestStorage | undefined;
  let server: ArchiveServer | undefined;
  beforeAll(async () => {
    storage = await startTestStorage();
    server = await startArchiveServer();
  });
  afterAll(async () => {
    await server?.close();
    await storage?.close();
  });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the ${what} is only there once the file's tests have begun`);
    return value;
  };
  return {
    get storage() {
      return started(storage, 'test storage');
    },
    get server() {
      return started(server, 'archive server');
    },
  };
}
