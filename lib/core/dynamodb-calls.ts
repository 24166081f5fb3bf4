/**
 * The two ways `lib/` calls DynamoDB, and the one place its failures are translated: any call
 * that fails is `StorageUnavailableError('DynamoDB')`; a conditional write whose condition did
 * not hold is an answer (`written: false`), not a failure. Values go in and out through
 * `@aws-sdk/util-dynamodb`, so no attribute value is written by hand.
 */
import { ConditionalCheckFailedException, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { MalformedItemError, StorageUnavailableError } from './errors';

export { MalformedItemError };

export type Item = Record<string, AttributeValue>;

/** Runs one DynamoDB call; a failure of any kind is the storage's. */
export async function dynamoCall<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw new StorageUnavailableError('DynamoDB', error);
  }
}

export type Conditional<T> = { written: true; output: T } | { written: false };

/** Runs one conditional write: `written: false` when its condition did not hold. */
export async function conditionalWrite<T>(operation: () => Promise<T>): Promise<Conditional<T>> {
  try {
    return { written: true, output: await operation() };
  } catch (error) {
    // By name as well: a second copy of the SDK in a bundle would defeat instanceof.
    if (error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException') {
      return { written: false };
    }
    throw new StorageUnavailableError('DynamoDB', error);
  }
}

/** Plain values as an item or as expression values (`{ ':state': 'running' }`); undefined left out. */
export function toAttributes(values: Record<string, unknown>): Item {
  return marshall(values, { removeUndefinedValues: true });
}

/**
 * Reads one item's attributes by type, for a table's mapping: an attribute that is missing when
 * required, or of another type, throws `MalformedItemError` rather than becoming a default.
 */
export function itemReader(table: string, item: Item) {
  const values = unmarshall(item) as Record<string, unknown>;
  const fail = (name: string, wanted: string): never => {
    throw new MalformedItemError(table, `${name} is ${values[name] === undefined ? 'missing' : 'not ' + wanted}`);
  };
  const optional = <T>(name: string, wanted: string, is: (value: unknown) => value is T): T | undefined => {
    const value = values[name];
    if (value === undefined || value === null) return undefined;
    return is(value) ? value : fail(name, wanted);
  };
  const isText = (value: unknown): value is string => typeof value === 'string';
  const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
  const isBoolean = (value: unknown): value is boolean => typeof value === 'boolean';
  const required = <T>(value: T | undefined, name: string, wanted: string): T => (value === undefined ? fail(name, wanted) : value);
  return {
    text: (name: string): string => required(optional(name, 'a string', isText), name, 'a string'),
    optionalText: (name: string): string | undefined => optional(name, 'a string', isText),
    number: (name: string): number => required(optional(name, 'a number', isNumber), name, 'a number'),
    optionalNumber: (name: string): number | undefined => optional(name, 'a number', isNumber),
    optionalBoolean: (name: string): boolean | undefined => optional(name, 'a boolean', isBoolean),
    texts: (name: string): string[] => {
      const value = values[name];
      if (!Array.isArray(value) || !value.every(isText)) return fail(name, 'a list of strings');
      return value;
    },
    /** A JSON document stored as a string, checked by `is`. */
    optionalJson: <T>(name: string, is: (value: unknown) => value is T): T | undefined => {
      const raw = optional(name, 'a string', isText);
      if (raw === undefined || raw === '') return undefined;
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        return fail(name, 'JSON');
      }
      return is(parsed) ? parsed : fail(name, 'the document it should hold');
    },
  };
}
