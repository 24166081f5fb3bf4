/**
 * A remote's `Retry-After` (RFC 9110 §10.2.3) as whole seconds from now, passed on to the client
 * with a transient failure (docs/api.md#what-to-retry). Delta-seconds or an HTTP-date in any of
 * its three forms; anything else is ignored. Capped, so that a remote cannot tell clients to
 * stay away for days: past the cap, when to come back is the client's decision.
 */

export const MAX_RETRY_AFTER_SECONDS = 3600;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTH = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`. */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
/** The obsolete RFC 850 form: `Sunday, 06-Nov-94 08:49:37 GMT`. */
const RFC850_DATE = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
/** The obsolete asctime form: `Sun Nov  6 08:49:37 1994`. */
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/** Epoch milliseconds of an HTTP-date, or undefined when `value` is not one; `nowMs` places a two-digit year. */
export function parseHttpDate(value: string, nowMs: number): number | undefined {
  const fix = IMF_FIXDATE.exec(value);
  const old = fix ? undefined : RFC850_DATE.exec(value);
  const asc = fix || old ? undefined : ASCTIME_DATE.exec(value);
  let parts: [string, string, number, string, string, string] | undefined;
  if (fix) parts = [fix[1] ?? '', fix[2] ?? '', Number(fix[3]), fix[4] ?? '', fix[5] ?? '', fix[6] ?? ''];
  else if (old) parts = [old[1] ?? '', old[2] ?? '', 2000 + Number(old[3]), old[4] ?? '', old[5] ?? '', old[6] ?? ''];
  else if (asc) parts = [(asc[2] ?? '').trim(), asc[1] ?? '', Number(asc[6]), asc[3] ?? '', asc[4] ?? '', asc[5] ?? ''];
  if (!parts) return undefined;
  const [day, month, guessedYear, hour, minute, second] = parts;
  const monthIndex = MONTHS.indexOf(month.toLowerCase());
  const at = (year: number): number => Date.UTC(year, monthIndex, Number(day), Number(hour), Number(minute), Number(second));
  // RFC 9110 §5.6.7: a two-digit year that puts the instant more than 50 years ahead is the past century's.
  const year = old && at(guessedYear) > fiftyYearsAfter(nowMs) ? guessedYear - 100 : guessedYear;
  const time = at(year);
  // Refuses 31 Feb and 25:00, which Date.UTC would roll over into another date.
  const check = new Date(time);
  return check.getUTCDate() === Number(day) && check.getUTCHours() === Number(hour) && check.getUTCMinutes() === Number(minute) ? time : undefined;
}

function fiftyYearsAfter(nowMs: number): number {
  const later = new Date(nowMs);
  later.setUTCFullYear(later.getUTCFullYear() + 50);
  return later.getTime();
}

/** Seconds to wait, 0 to the cap; undefined for a missing or unreadable header. */
export function retryAfterSeconds(header: string | undefined, nowMs: number): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Math.min(Number(value), MAX_RETRY_AFTER_SECONDS);
  const at = parseHttpDate(value, nowMs);
  if (at === undefined) return undefined;
  return Math.min(Math.max(0, Math.ceil((at - nowMs) / 1000)), MAX_RETRY_AFTER_SECONDS);
}
