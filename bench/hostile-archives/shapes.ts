/**
 * The archive shapes found stalling the archive checks, built in memory (a few KB each
 * once gzipped): deep names cost the old checks time quadratic in a path's depth. And the
 * app_desc.yaml shapes, each within the 1 MiB cap, that cost the `yaml` package minutes or a
 * gigabyte without the checks before it (lib/archive/app-desc-yaml.ts).
 */
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';

type Headers = Partial<Header> & { name: string };

export interface HostileShape {
  name: string;
  format: 'tar.gz';
  bytes: Buffer;
}

async function tarOf(headers: Headers[]): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (chunk) => {
    chunks.push(chunk as Buffer);
  });
  const ended = new Promise<void>((resolve, reject) => {
    tar.on('end', resolve);
    tar.on('error', reject);
  });
  for (const header of headers) {
    // A fixed time, so the corpus made from these shapes is the same bytes every time.
    const fixed = { mtime: new Date('2020-08-24T17:15:51Z'), ...header };
    if (header.type === 'directory') tar.entry(fixed);
    else tar.entry(fixed, '');
  }
  tar.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** `levels` segments: `prefix/a/a/…/a`. */
function deepName(prefix: string, levels: number): string {
  return `${prefix}${'/a'.repeat(levels - 1)}`;
}

export async function hostileShapes(scale = 1): Promise<HostileShape[]> {
  const n = (count: number): number => Math.max(2, Math.round(count * scale));
  const nested = Array.from({ length: n(2_000) }, (_, i): Headers => ({ name: `${'d/'.repeat(i + 1)}`, type: 'directory' }));
  return [
    { name: `one entry ${n(32_000)} levels deep`, format: 'tar.gz', bytes: gzipSync(await tarOf([{ name: deepName('a', n(32_000)) }]), { level: 9 }) },
    { name: `${n(2_000)} nested directories`, format: 'tar.gz', bytes: gzipSync(await tarOf(nested), { level: 9 }) },
    {
      name: `${n(30)} entries ${n(20_000)} levels deep`,
      format: 'tar.gz',
      bytes: gzipSync(await tarOf(Array.from({ length: n(30) }, (_, i) => ({ name: deepName(`x${i}`, n(20_000)) }))), { level: 9 }),
    },
  ];
}

const YAML_CAP = 1024 * 1024;

/** `unit` repeated to just under the description's cap (the YAML checks see the whole of it). */
function fill(prefix: string, unit: string, suffix = ''): string {
  return prefix + unit.repeat(Math.floor((YAML_CAP - prefix.length - suffix.length) / unit.length)) + suffix;
}

async function describedArchive(yaml: string): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (chunk) => {
    chunks.push(chunk as Buffer);
  });
  const ended = new Promise<void>((resolve) => tar.on('end', () => resolve()));
  tar.entry({ name: 'app/app_desc.yaml', mtime: new Date('2020-08-24T17:15:51Z') }, yaml);
  tar.entry({ name: 'app/main.py', mtime: new Date('2020-08-24T17:15:51Z') }, 'print("hello")\n');
  tar.finalize();
  await ended;
  return gzipSync(Buffer.concat(chunks), { level: 9 });
}

/** An ordinary description at the cap: a spec-2 document with thousands of modules. */
export function ordinaryDescription(): Promise<Buffer> {
  const module = (i: number): string => `  module-${i}:\n    language: python\n    env_variables: [{key: A, value: "${i}"}]\n`;
  let yaml = 'spec_version: 2\napp_version: 1.0.0\napp: {bk_app_code: myapp, bk_app_name: My App}\nmodules:\n';
  for (let i = 0; yaml.length + module(i).length < YAML_CAP; i += 1) yaml += module(i);
  return describedArchive(yaml);
}

export async function hostileYamlShapes(): Promise<HostileShape[]> {
  const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]', ...'bcdefghi'.split('').map((name, index) => `${name}: &${name} [${Array(9).fill(`*${'abcdefghi'[index]}`).join(',')}]`)];
  const keys = Array.from({ length: 90_000 }, (_, i) => `k${i}: v`);
  const shapes: [string, string][] = [
    ['1 MiB of "[" (flow sequences nested)', fill('', '[')],
    ['1 MiB of "{a: " (flow mappings nested)', fill('', '{a: ')],
    ['1 MiB of "- " (sequences nested on one line)', fill('', '- ')],
    ['1 MiB of "? " (explicit keys nested on one line)', fill('', '? ')],
    ['block mappings indented 1,400 levels deep', Array.from({ length: 1_400 }, (_, level) => `${' '.repeat(level)}k:`).join('\n') + ' 1\n'],
    ['a billion laughs', laughs.join('\n')],
    ['90,000 keys, the last one twice', [...keys, 'k0: again'].join('\n')],
    ['one anchor, 60,000 aliases to it', ['a: &a x', ...Array.from({ length: 60_000 }, (_, i) => `k${i}: *a`)].join('\n')],
  ];
  const built: HostileShape[] = [];
  for (const [name, yaml] of shapes) built.push({ name: `app_desc.yaml: ${name}`, format: 'tar.gz', bytes: await describedArchive(yaml) });
  return built;
}
