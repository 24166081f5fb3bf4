/**
 * Bundles an entry the way serverless-esbuild bundles a function: the options below are
 * serverless.yml's custom.esbuild. With them, handlers/link.ts and handlers/fetch.ts come out
 * byte-identical to the files inside `serverless package`'s zips (checked by hand; if
 * serverless.yml's options change, change them here too).
 */
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { statSync } from 'node:fs';

export interface Bundle {
  file: string;
  bytes: number;
  /** Bytes each npm package (or "(project)") contributes to the output. */
  bytesByPackage: Map<string, number>;
}

export const SERVERLESS_ESBUILD_OPTIONS: BuildOptions = {
  bundle: true,
  minify: true,
  keepNames: true,
  sourcemap: false,
  target: 'node24',
  platform: 'node',
  mainFields: ['module', 'main'],
};

export async function bundle(entry: string, outfile: string): Promise<Bundle> {
  const result = await build({ ...SERVERLESS_ESBUILD_OPTIONS, entryPoints: [entry], outfile, logLevel: 'error', metafile: true });
  return { file: outfile, bytes: statSync(outfile).size, bytesByPackage: result.metafile ? bytesByPackage(result.metafile) : new Map() };
}

function packageOf(input: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  return match?.[1] ?? '(project)';
}

function bytesByPackage(metafile: Metafile): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const name = packageOf(input);
      sizes.set(name, (sizes.get(name) ?? 0) + bytesInOutput);
    }
  }
  return sizes;
}
