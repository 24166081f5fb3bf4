/**
 * A remote's Retry-After, passed on with a transient failure (docs/api.md#what-to-retry): seconds
 * or an HTTP-date, capped at an hour; anything else ignored.
 */
import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_SECONDS, parseHttpDate, retryAfterSeconds } from '../../../lib/download/retry-after';

const NOW = Date.UTC(1994, 10, 6, 8, 49, 0);

describe('retryAfterSeconds', () => {
  it.each([
    ['7', 7],
    [' 120 ', 120],
    ['0', 0],
    ['86400', MAX_RETRY_AFTER_SECONDS],
    ['99999999999999999999999', MAX_RETRY_AFTER_SECONDS],
  ])('reads delta-seconds %j as %d', (header, expected) => {
    // Act
    const seconds = retryAfterSeconds(header, NOW);

    // Assess
    expect(seconds).toBe(expected);
  });

  it.each([
    ['an IMF-fixdate', 'Sun, 06 Nov 1994 08:49:37 GMT', 37],
    ['the RFC 850 form', 'Sunday, 06-Nov-94 08:49:37 GMT', 37],
    ['the asctime form', 'Sun Nov  6 08:49:37 1994', 37],
    ['a date in the past', 'Sun, 06 Nov 1994 08:00:00 GMT', 0],
    ['a date next year', 'Mon, 06 Nov 1995 08:49:37 GMT', MAX_RETRY_AFTER_SECONDS],
  ])('reads %s as seconds from now', (_form, header, expected) => {
    // Act
    const seconds = retryAfterSeconds(header, NOW);

    // Assess
    expect(seconds).toBe(expected);
  });

  it.each([
    ['no header', undefined],
    ['an empty value', ''],
    ['a negative number', '-5'],
    ['a fraction', '1.5'],
    ['words', 'soon'],
    ['a date without its zone', 'Sun, 06 Nov 1994 08:49:37'],
    ['a date in another zone', 'Sun, 06 Nov 1994 08:49:37 +0100'],
    ['an impossible date', 'Thu, 31 Feb 1994 08:49:37 GMT'],
    ['an impossible hour', 'Sun, 06 Nov 1994 25:49:37 GMT'],
    ['an ISO timestamp', '1994-11-06T08:49:37Z'],
  ])('ignores %s', (_shape, header) => {
    // Act
    const seconds = retryAfterSeconds(header, NOW);

    // Assess
    expect(seconds).toBeUndefined();
  });
});

describe('parseHttpDate', () => {
  it('reads the three forms as the same instant', () => {
    // Act
    const instants = ['Sun, 06 Nov 1994 08:49:37 GMT', 'Sunday, 06-Nov-94 08:49:37 GMT', 'Sun Nov  6 08:49:37 1994'].map((date) =>
      parseHttpDate(date, Date.UTC(2026, 0, 1)),
    );

    // Assess
    expect(instants).toEqual([Date.UTC(1994, 10, 6, 8, 49, 37), Date.UTC(1994, 10, 6, 8, 49, 37), Date.UTC(1994, 10, 6, 8, 49, 37)]);
  });

  it('places a two-digit year within fifty years of the clock it is given, not of the machine', () => {
    // Act
    const near2026 = parseHttpDate('Sunday, 06-Nov-77 08:49:37 GMT', Date.UTC(2026, 0, 1));
    const near2030 = parseHttpDate('Sunday, 06-Nov-77 08:49:37 GMT', Date.UTC(2030, 0, 1));

    // Assess: 2077 is more than 50 years after 2026 (so 1977), and not after 2030.
    expect(near2026).toBe(Date.UTC(1977, 10, 6, 8, 49, 37));
    expect(near2030).toBe(Date.UTC(2077, 10, 6, 8, 49, 37));
  });

  it('measures the fifty years to the instant, not to the year', () => {
    // Act: from the first moment of 2026, the last hour of 2076 is more than fifty years ahead.
    const justOver = parseHttpDate('Thursday, 31-Dec-76 23:00:00 GMT', Date.UTC(2026, 0, 1));
    const justUnder = parseHttpDate('Thursday, 01-Jan-76 00:00:00 GMT', Date.UTC(2026, 0, 1, 1));

    // Assess
    expect(justOver).toBe(Date.UTC(1976, 11, 31, 23, 0, 0));
    expect(justUnder).toBe(Date.UTC(2076, 0, 1, 0, 0, 0));
  });
});
