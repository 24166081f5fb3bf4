/**
 * Turns the request body into text fields, by content type: multipart/form-data (busboy, with
 * limits; file parts refused), application/x-www-form-urlencoded, application/json.
 * Only known field names are kept; a known field given twice is a validation error.
 */
import busboy from 'busboy';
import { UnsupportedMediaTypeError, ValidationError } from '../core/errors';
import { jsonObjectMembers } from './json-members';

export type FormFields = Record<string, string>;

export const FORM_FIELDS = ['package_url', 'version', 'allow_overwrite', 'sha256'] as const;

const LIMITS = {
  fields: 32,
  // package_url may be 2048 characters; leave room so an over-long value is reported as such.
  fieldSize: 8 * 1024,
  fieldNameSize: 128,
  parts: 32,
};

function isKnownField(name: string): boolean {
  return (FORM_FIELDS as readonly string[]).includes(name);
}

class FieldCollector {
  readonly fields: FormFields = {};
  private readonly repeated = new Set<string>();

  add(name: string, value: string): void {
    if (!isKnownField(name)) return;
    if (Object.hasOwn(this.fields, name)) this.repeated.add(name);
    this.fields[name] = value;
  }

  result(): FormFields {
    if (this.repeated.size > 0) {
      const fieldsDetail = Object.fromEntries([...this.repeated].map((name) => [name, ['Given more than once.']]));
      throw new ValidationError('Each field may be given only once.', { fieldsDetail });
    }
    return this.fields;
  }
}

function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
}

export async function parseForm(contentType: string | undefined, body: Buffer): Promise<FormFields> {
  switch (mediaTypeOf(contentType)) {
    case 'multipart/form-data':
      return parseMultipart(contentType ?? '', body);
    case 'application/x-www-form-urlencoded':
      return parseUrlEncoded(body);
    case 'application/json':
      return parseJson(body);
    default:
      throw new UnsupportedMediaTypeError(contentType);
  }
}

function parseMultipart(contentType: string, body: Buffer): Promise<FormFields> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: { 'content-type': contentType }, limits: LIMITS, defCharset: 'utf8' });
    } catch (error) {
      reject(new ValidationError('The multipart body is malformed: its Content-Type has no usable boundary.', { cause: error }));
      return;
    }
    const collector = new FieldCollector();
    let failed = false;
    const fail = (error: ValidationError): void => {
      if (failed) return;
      failed = true;
      reject(error);
    };
    parser.on('field', (name, value, info) => {
      if (info.nameTruncated) return fail(new ValidationError('A multipart field name is too long.'));
      if (info.valueTruncated) {
        return fail(new ValidationError(`Field "${name}" is too long.`, { fieldsDetail: { [name]: ['Value is too long.'] } }));
      }
      collector.add(name, value);
    });
    parser.on('file', (name, stream) => {
      stream.resume();
      fail(
        new ValidationError('File parts are not accepted: this endpoint takes a link in package_url.', { fieldsDetail: {
          [name]: ['File uploads are not accepted here.'],
        } }),
      );
    });
    parser.on('fieldsLimit', () => fail(new ValidationError(`The form has more than ${LIMITS.fields} fields.`)));
    parser.on('partsLimit', () => fail(new ValidationError(`The form has more than ${LIMITS.parts} parts.`)));
    parser.on('error', (error: unknown) => {
      fail(new ValidationError('The multipart body is malformed.', { cause: error }));
    });
    parser.on('close', () => {
      if (failed) return;
      try {
        resolve(collector.result());
      } catch (error) {
        reject(error);
      }
    });
    parser.end(body);
  });
}

function parseUrlEncoded(body: Buffer): FormFields {
  const collector = new FieldCollector();
  const text = body.toString('utf8');
  const pairs = new URLSearchParams(text);
  let count = 0;
  for (const [name, value] of pairs) {
    if (++count > LIMITS.fields) throw new ValidationError(`The form has more than ${LIMITS.fields} fields.`);
    collector.add(name, value);
  }
  return collector.result();
}

function parseJson(body: Buffer): FormFields {
  const text = body.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not the parser's message as the cause: V8 quotes the body around the error, and the body
    // may hold a URL's credentials, which must never reach the log.
    throw new ValidationError('The JSON body is malformed.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ValidationError('The JSON body must be an object.');
  }
  const collector = new FieldCollector();
  const wrongType: Record<string, string[]> = {};
  // Member by member, not Object.entries: a key given twice is refused like a repeated form field.
  for (const [name, value] of jsonObjectMembers(text)) {
    if (value === null) collector.add(name, '');
    else if (typeof value === 'string') collector.add(name, value);
    else if (typeof value === 'boolean' || typeof value === 'number') collector.add(name, String(value));
    else if (isKnownField(name)) wrongType[name] = ['Must be a string.'];
  }
  if (Object.keys(wrongType).length > 0) throw new ValidationError('Some fields have the wrong type.', { fieldsDetail: wrongType });
  return collector.result();
}
