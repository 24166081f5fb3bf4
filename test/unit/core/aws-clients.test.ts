/**
 * The SDK clients as the functions build them: S3 requests that carry a body are sent with an
 * unsigned payload (the stream hashes the archive already), presigned download URLs are not;
 * parts go without `Expect: 100-continue`, which would make the SDK open a connection per part.
 */
import { GetObjectCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { describe, expect, it } from 'vitest';
import { createS3Client } from '../../../lib/core/aws-clients';

const s3 = () => createS3Client({ region: 'us-east-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' }, endpoints: { s3: 'http://127.0.0.1:9' } });

describe('the S3 client', () => {
  it('presigns a download URL with exactly one X-Amz-Content-Sha256 parameter', async () => {
    // Act
    const url = new URL(await getSignedUrl(s3(), new GetObjectCommand({ Bucket: 'b', Key: 'packages/k' }), { expiresIn: 60 }));

    // Assess
    const names = [...url.searchParams.keys()].filter((name) => name.toLowerCase() === 'x-amz-content-sha256');
    expect(names).toEqual(['X-Amz-Content-Sha256']);
  });

  it('sends an upload with an unsigned payload, so SigV4 does not hash each part again', async () => {
    // Arrange
    const client = s3();
    let sent: Record<string, string> = {};
    client.middlewareStack.add(
      () => async (args) => {
        sent = (args.request as { headers: Record<string, string> }).headers;
        throw new Error('stop before the network');
      },
      { step: 'finalizeRequest', name: 'capture', priority: 'low' },
    );

    // Act
    await expect(client.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'bytes' }))).rejects.toThrow('stop before the network');

    // Assess
    expect(sent['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
  });

  it('sends an 8 MiB part without Expect: 100-continue, so the part reuses a kept-alive connection', async () => {
    // Arrange
    const client = s3();
    let sent: Record<string, string> = {};
    client.middlewareStack.add(
      () => async (args) => {
        sent = (args.request as { headers: Record<string, string> }).headers;
        throw new Error('stop before the network');
      },
      { step: 'finalizeRequest', name: 'capture', priority: 'low' },
    );
    const part = new UploadPartCommand({ Bucket: 'b', Key: 'k', UploadId: 'u', PartNumber: 1, Body: Buffer.alloc(8 * 1024 * 1024) });

    // Act
    await expect(client.send(part)).rejects.toThrow('stop before the network');

    // Assess
    expect(sent['content-length']).toBe(String(8 * 1024 * 1024));
    expect(Object.keys(sent).map((name) => name.toLowerCase())).not.toContain('expect');
  });
});
