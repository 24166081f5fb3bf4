/**
 * The local stack's generated secrets, kept in the data directory as CloudFormation keeps a
 * secret for the stack's life: a restart keeps the list cursors it issued valid.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function persistedSecrets(dataDir: string): (logicalId: string, generate: () => string) => string {
  const file = path.join(dataDir, 'secrets.json');
  const secrets = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : {};
  return (logicalId, generate) => {
    const known = secrets[logicalId];
    if (known) return known;
    const value = generate();
    secrets[logicalId] = value;
    writeFileSync(file, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
    return value;
  };
}
