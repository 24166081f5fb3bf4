/**
 * `npm run events [-- --follow] [--json]`: the events the local stack's bus took (each job's end,
 * docs/api.md#events), one line each; `--follow` keeps printing new ones as they arrive, as
 * `tail -f` does, until Ctrl-C; `--json` prints them as EventBridge delivers them.
 * LOCAL_DATA_DIR names the local stack's data directory (.data).
 */
import path from 'node:path';
import { optionsOrExit } from './command-line';
import { describeEvent, EventLogReader } from './local-aws/event-log';

const USAGE = `usage: npm run events [-- --follow] [--json]

Prints the events the local stack's EventBridge took (LOCAL_DATA_DIR/event-bus, .data by default):
  --follow   keep printing new events as they arrive (Ctrl-C stops)
  --json     one JSON line each, as EventBridge delivers the event`;

const POLL_MS = 250;

function main(): void {
  const values = optionsOrExit({ follow: { type: 'boolean', short: 'f' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, USAGE);
  if (!values) return;
  const dir = path.join(path.resolve(__dirname, '..', process.env.LOCAL_DATA_DIR ?? '.data'), 'event-bus');
  const reader = new EventLogReader(dir);
  const print = (): number => {
    const { events, notes } = reader.next();
    for (const note of notes) console.error(note);
    for (const event of events) console.log(values.json ? JSON.stringify(event) : describeEvent(event));
    return events.length;
  };
  if (print() === 0 && !values.follow) console.error(`No events yet in ${dir}.`);
  if (!values.follow) return;
  // A follower outlives what happens to the files (`rm -rf .data`, a restart): a failed read is said, and tried again.
  setInterval(() => {
    try {
      print();
    } catch (error) {
      console.error(`could not read ${dir}: ${(error as Error).message}`);
    }
  }, POLL_MS);
}

main();
