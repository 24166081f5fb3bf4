/**
 * The operator scripts' command line: parsed by node:util's parseArgs; a mistake prints the
 * message and the usage and exits 2, `--help` prints the usage and gives nothing to run.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = ParseArgsConfig['options'];

function parsedOrExit<C extends ParseArgsConfig>(config: C, usage: string): ReturnType<typeof parseArgs<C>> | undefined {
  let parsed: ReturnType<typeof parseArgs<C>>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(usage);
    return undefined;
  }
  return parsed;
}

/** Options only: a positional argument is a mistake. */
export function optionsOrExit<T extends Options>(options: T, usage: string): ReturnType<typeof parseArgs<{ options: T }>>['values'] | undefined {
  return parsedOrExit({ options }, usage)?.values;
}

/** Options and positional arguments. */
export function argumentsOrExit<T extends Options>(options: T, usage: string): ReturnType<typeof parseArgs<{ options: T; allowPositionals: true }>> | undefined {
  return parsedOrExit({ options, allowPositionals: true }, usage);
}
