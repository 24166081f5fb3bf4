/**
 * Account rules AWS applies that a deploy runs into, in one place for the preflight checks and
 * the local stack that answers as AWS does.
 */

/** Lambda keeps this much of an account's concurrency for functions without a reservation. */
export const MINIMUM_UNRESERVED_CONCURRENCY = 100;
