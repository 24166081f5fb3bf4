/**
 * The operator scripts' command line: parsed by node:util's parseArgs; a mistake prints the
 * message and the usage and exits 2, `--help` prints the usage and gives nothing to run.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export function optionsOrExit<T extends ParseArgsConfig['options']>(options: T, usage: string): ReturnType<typeof parseArgs<{ options: T }>>['values'] | undefined {
  let values: ReturnType<typeof parseArgs<{ options: T }>>['values'];
  try {
    ({ values } = parseArgs({ options }));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }
  if ((values as { help?: boolean }).help) {
    console.log(usage);
    return undefined;
  }
  return values;
}
