/**
 * parseForm (docs/api.md#request-body): multipart/form-data first, then urlencoded and JSON; file parts
 * refused, unknown fields ignored, a known field given twice refused, other media types 415.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ServiceError } from '../../../lib/core/errors';
import { parseForm } from '../../../lib/http/form-parser';

const BOUNDARY = '----WebKitFormBoundaryohLfLFHX1EPDP7rB';
const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`;
const ORIGINAL_BODY = readFileSync(path.join(__dirname, '../../fixtures/original-docs-multipart.txt'));

/** A multipart body in the same framing as the original docs' example: CRLF, `--` + boundary. */
function multipartBody(parts: { name: string; value: string; filename?: string }[]): Buffer {
  const lines: string[] = [];
  for (const part of parts) {
    const filename = part.filename === undefined ? '' : `; filename="${part.filename}"`;
    lines.push(`--${BOUNDARY}`, `Content-Disposition: form-data; name="${part.name}"${filename}`);
    if (part.filename !== undefined) lines.push('Content-Type: application/gzip');
    lines.push('', part.value);
  }
  lines.push(`--${BOUNDARY}--`, '');
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8');

describe('parseForm with multipart/form-data', () => {
  it("reads the original docs' curl body byte for byte, padding kept for validation to trim", async () => {
    // Act
    const fields = await parseForm(MULTIPART, ORIGINAL_BODY);

    // Assess
    expect(ORIGINAL_BODY.toString('latin1')).toMatch(new RegExp(`^--${BOUNDARY}\r\n[^]*\r\n--${BOUNDARY}--\r\n$`));
    expect(fields).toEqual({
      package_url: '   Link to your source code package  ',
      version: '  Your version number  ',
      allow_overwrite: 'false',
    });
  });

  it('accepts the media type and boundary parameter in any case', async () => {
    // Act
    const fields = await parseForm(`Multipart/Form-Data; BOUNDARY=${BOUNDARY}`, ORIGINAL_BODY);

    // Assess
    expect(fields.allow_overwrite).toBe('false');
  });

  it('decodes UTF-8 values', async () => {
    // Prepare
    const body = multipartBody([{ name: 'version', value: '版本 ü-1' }]);

    // Act
    const fields = await parseForm(MULTIPART, body);

    // Assess
    expect(fields).toEqual({ version: '版本 ü-1' });
  });

  it('ignores unknown text fields', async () => {
    // Prepare
    const body = multipartBody([
      { name: 'version', value: 'v1' },
      { name: 'comment', value: 'nightly build' },
    ]);

    // Act
    const fields = await parseForm(MULTIPART, body);

    // Assess
    expect(fields).toEqual({ version: 'v1' });
  });

  it('refuses a known field given twice, naming it in fields_detail', async () => {
    // Prepare
    const body = multipartBody([
      { name: 'version', value: 'v1' },
      { name: 'version', value: 'v2' },
    ]);

    // Act
    const parsing = parseForm(MULTIPART, body);

    // Assess
    await expect(parsing).rejects.toMatchObject({ code: 'VALIDATION_ERROR', status: 400, fieldsDetail: { version: expect.any(Array) } });
  });

  it('refuses file parts: this endpoint takes a link', async () => {
    // Prepare
    const body = multipartBody([
      { name: 'version', value: 'v1' },
      { name: 'package', value: '\x1f\x8b fake archive', filename: 'app.tar.gz' },
    ]);

    // Act
    const parsing = parseForm(MULTIPART, body);

    // Assess
    await expect(parsing).rejects.toMatchObject({ code: 'VALIDATION_ERROR', fieldsDetail: { package: expect.any(Array) } });
  });

  it('refuses a Content-Type without a boundary', async () => {
    // Act
    const parsing = parseForm('multipart/form-data', ORIGINAL_BODY);

    // Assess
    await expect(parsing).rejects.toMatchObject({ code: 'VALIDATION_ERROR', status: 400 });
  });

  it('refuses a body cut off before its closing delimiter', async () => {
    // Prepare
    const truncated = ORIGINAL_BODY.subarray(0, ORIGINAL_BODY.indexOf('false') + 'false'.length);

    // Act
    const parsing = parseForm(MULTIPART, truncated);

    // Assess
    await expect(parsing).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
  });

  it('refuses a body whose delimiters use another boundary', async () => {
    // Act
    const parsing = parseForm('multipart/form-data; boundary=----SomethingElse', ORIGINAL_BODY);

    // Assess
    await expect(parsing).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
  });

  it('refuses an over-long value as too long rather than cutting it short', async () => {
    // Prepare
    const body = multipartBody([{ name: 'package_url', value: `https://example.com/${'a'.repeat(10_000)}.tar.gz` }]);

    // Act
    const parsing = parseForm(MULTIPART, body);

    // Assess
    await expect(parsing).rejects.toMatchObject({ code: 'VALIDATION_ERROR', fieldsDetail: { package_url: expect.any(Array) } });
  });
});

describe('parseForm with application/x-www-form-urlencoded', () => {
  it('decodes percent-escapes and plus signs', async () => {
    // Prepare
    const body = Buffer.from(
      'package_url=https%3A%2F%2Fexample.com%2Fapp%201.0.tar.gz%3Fsig%3Da%2Bb&version=+v1+&allow_overwrite=TRUE&note=x',
    );

    // Act
    const fields = await parseForm('application/x-www-form-urlencoded; charset=utf-8', body);

    // Assess
    expect(fields).toEqual({
      package_url: 'https://example.com/app 1.0.tar.gz?sig=a+b',
      version: ' v1 ',
      allow_overwrite: 'TRUE',
    });
  });

  it('refuses a known field given twice', async () => {
    // Act
    const parsing = parseForm('application/x-www-form-urlencoded', Buffer.from('version=v1&version=v2'));

    // Assess
    await expect(parsing).rejects.toMatchObject({ code: 'VALIDATION_ERROR', fieldsDetail: { version: expect.any(Array) } });
  });
});

describe('parseForm with application/json', () => {
  it('takes strings as they are, booleans as words and null as empty', async () => {
    // Prepare
    const body = json({ package_url: ' https://example.com/app.zip ', version: 'v1', allow_overwrite: true, sha256: null });

    // Act
    const fields = await parseForm('application/json; charset=utf-8', body);

    // Assess
    expect(fields).toEqual({ package_url: ' https://example.com/app.zip ', version: 'v1', allow_overwrite: 'true', sha256: '' });
  });

  it('gives false as the word false', async () => {
    // Act
    const fields = await parseForm('application/json', json({ allow_overwrite: false }));

    // Assess
    expect(fields).toEqual({ allow_overwrite: 'false' });
  });

  it('refuses objects and arrays for known fields, each named in fields_detail', async () => {
    // Prepare
    const body = json({ package_url: { href: 'https://example.com/app.zip' }, version: ['v1'], allow_overwrite: 'false' });

    // Act
    const parsing = parseForm('application/json', body);

    // Assess
    await expect(parsing).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
      fieldsDetail: { package_url: expect.any(Array), version: expect.any(Array) },
    });
    await expect(parsing).rejects.not.toHaveProperty('fieldsDetail.allow_overwrite');
  });

  it('ignores unknown fields whatever their type', async () => {
    // Act
    const fields = await parseForm('application/json', json({ version: 'v1', labels: { team: 'a' }, tags: [1, 2] }));

    // Assess
    expect(fields).toEqual({ version: 'v1' });
  });

  it('refuses a known field given twice, however its key is spelled', async () => {
    // Act: JSON.parse would keep only the last of each.
    const plain = parseForm('application/json', Buffer.from('{"version": "v1", "version": "v2"}'));
    const escaped = parseForm('application/json', Buffer.from('{"version": "v1", "labels": {"version": 1}, "vers\\u0069on": "v2"}'));

    // Assess
    await expect(plain).rejects.toMatchObject({ code: 'VALIDATION_ERROR', fieldsDetail: { version: ['Given more than once.'] } });
    await expect(escaped).rejects.toMatchObject({ code: 'VALIDATION_ERROR', fieldsDetail: { version: ['Given more than once.'] } });
  });

  it('reads every member of an object with nested values, strings holding brackets and escaped quotes', async () => {
    // Prepare
    const text = ' { "labels" : { "a": [1, {"b": "}"}] }, "version":"v\\"1]" , "sha256" : null , "n": -1.5e3 } ';

    // Act
    const fields = await parseForm('application/json', Buffer.from(text));

    // Assess
    expect(fields).toEqual({ version: 'v"1]', sha256: '' });
  });

  it('ignores an unknown key given twice, as the other body types do', async () => {
    // Act
    const fields = await parseForm('application/json', Buffer.from('{"note": 1, "note": 2, "version": "v1"}'));

    // Assess
    expect(fields).toEqual({ version: 'v1' });
  });

  it('refuses a body that is not JSON', async () => {
    // Act
    const parsing = parseForm('application/json', Buffer.from('{"version": "v1"'));

    // Assess
    await expect(parsing).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
  });

  it('refuses JSON that is not an object', async () => {
    // Act
    const parsing = parseForm('application/json', json(['v1']));

    // Assess
    await expect(parsing).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
  });
});

describe('parseForm with other content types', () => {
  it.each([['text/plain'], ['application/xml'], ['application/octet-stream']])(
    'answers %s with UNSUPPORTED_MEDIA_TYPE, status 415',
    async (contentType) => {
      // Act
      const parsing = parseForm(contentType, Buffer.from('version=v1'));

      // Assess
      await expect(parsing).rejects.toBeInstanceOf(ServiceError);
      await expect(parsing).rejects.toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', status: 415 });
    },
  );

  it('answers a missing Content-Type with UNSUPPORTED_MEDIA_TYPE', async () => {
    // Act
    const parsing = parseForm(undefined, Buffer.from('version=v1'));

    // Assess
    await expect(parsing).rejects.toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', status: 415 });
  });
});
