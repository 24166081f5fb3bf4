/**
 * Polling for something another process or a timer brings about: a file line, a log line, a
 * process gone.
 */

/** Looks at `condition` every `everyMs` until it holds or `timeoutMs` pass; whether it held. */
export async function waitFor(condition: () => boolean, timeoutMs = 10_000, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return true;
}

/** As waitFor, failing with `what` if the condition never held. */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  if (!(await waitFor(condition, timeoutMs))) throw new Error(`timed out waiting for ${what}`);
}
