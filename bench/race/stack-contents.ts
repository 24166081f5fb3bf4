/**
 * What the local stack holds for one application module: the object keys its version records name and
 * its package objects (the reads the tests' invariant checks use).
 */
import { keysOfRecord, objectKeysOf, recordsOf, type StorageView } from '../../test/helpers/storage-reads';

export interface ModuleContents {
  recordObjectKeys: string[];
  objectKeys: string[];
}

export async function moduleContents(storage: StorageView, code: string, module: string): Promise<ModuleContents> {
  const [records, objectKeys] = await Promise.all([recordsOf(storage, code, module), objectKeysOf(storage, code, module)]);
  return { recordObjectKeys: records.flatMap(keysOfRecord).sort(), objectKeys };
}
