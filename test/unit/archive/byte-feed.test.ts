/**
 * ByteFeed, the hand-over between a stream and the async parsers of gzip and zip: a
 * producer that keeps ahead pays no promise per chunk, memory stays bounded by the read-ahead,
 * and batches are taken and put back without copying.
 */
import { describe, expect, it } from 'vitest';
import { ByteFeed, HIGH_WATER } from '../../../lib/archive/byte-feed';

const CHUNK = 64 * 1024;

function chunkOf(byte: number, length = CHUNK): Buffer {
  return Buffer.alloc(length, byte);
}

describe('ByteFeed', () => {
  it('takes chunks at once while at most HIGH_WATER bytes wait, then makes the producer wait until the parser reads', async () => {
    // Arrange
    const feed = new ByteFeed();
    const answers: (Promise<void> | undefined)[] = [];

    // Act: no parser reads yet.
    for (let pushed = 0; pushed <= HIGH_WATER; pushed += CHUNK) answers.push(feed.push(chunkOf(1)));
    const waiting = answers[answers.length - 1];
    let released = false;
    void waiting?.then(() => {
      released = true;
    });
    await null;
    const releasedBeforeRead = released;
    await feed.read(2 * CHUNK);
    await waiting;

    // Assess
    expect(answers.slice(0, -1).every((answer) => answer === undefined)).toBe(true);
    expect(waiting).toBeInstanceOf(Promise);
    expect(releasedBeforeRead).toBe(false);
    expect(released).toBe(true);
  });

  it('lets the producer go on past the read-ahead while a parser waits for more bytes than are held', async () => {
    // Arrange: no read-ahead at all, and a parser that wants two chunks at once.
    const feed = new ByteFeed(0);
    const reading = feed.read(2 * CHUNK);
    await null;

    // Act
    const first = feed.push(chunkOf(1));
    const second = feed.push(chunkOf(2));
    const bytes = await reading;

    // Assess: neither push had to wait (waiting would deadlock: the parser waits for the second).
    expect(first).toBeUndefined();
    expect(second).toBeUndefined();
    expect(bytes.length).toBe(2 * CHUNK);
    expect([bytes[0], bytes[2 * CHUNK - 1]]).toEqual([1, 2]);
  });

  it('never holds more than HIGH_WATER plus one chunk however fast the producer pushes', async () => {
    const feed = new ByteFeed();
    let pushed = 0;
    let read = 0;
    let most = 0;
    const producer = (async () => {
      for (let i = 0; i < 200; i += 1) {
        const wait = feed.push(chunkOf(i % 256));
        pushed += CHUNK;
        // The parser's position moves as it takes bytes, before its own code resumes.
        most = Math.max(most, pushed - feed.position);
        if (wait) await wait;
      }
      feed.end();
    })();
    // A slow parser: 10 KiB at a time, yielding to the producer between reads.
    while (!(await feed.atEnd())) {
      const piece = await feed.next(10 * 1024);
      read += piece?.length ?? 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
    await producer;

    expect(read).toBe(200 * CHUNK);
    expect(most).toBeGreaterThan(HIGH_WATER / 2);
    expect(most).toBeLessThanOrEqual(HIGH_WATER + CHUNK);
  });

  it('without read-ahead, makes the producer wait for every chunk the parser has not taken', async () => {
    const feed = new ByteFeed(0);

    const first = feed.push(chunkOf(1));
    expect(first).toBeInstanceOf(Promise);
    await feed.read(CHUNK);
    await first;
  });

  it('hands every buffered chunk over in one batch without copying, cutting the last at the limit', async () => {
    const feed = new ByteFeed();
    const a = chunkOf(1, 100);
    const b = chunkOf(2, 100);
    const c = chunkOf(3, 100);
    for (const chunk of [a, b, c]) feed.push(chunk);

    const batch = await feed.nextAll(250);

    expect(batch?.map((piece) => piece.length)).toEqual([100, 100, 50]);
    expect(batch?.[0]?.buffer).toBe(a.buffer);
    expect(batch?.[2]?.buffer).toBe(c.buffer);
    expect((await feed.read(50)).equals(chunkOf(3, 50))).toBe(true);
    expect(feed.position).toBe(300);
  });

  it('puts the last bytes of a batch back in front, in order, and moves its position back', async () => {
    const feed = new ByteFeed();
    feed.push(Buffer.from('abcd'));
    feed.push(Buffer.from('efgh'));
    feed.push(Buffer.from('ij'));
    const batch = (await feed.nextAll(10)) ?? [];

    feed.unshiftTail(batch, 5);

    expect(feed.position).toBe(5);
    expect((await feed.read(5)).toString()).toBe('fghij');
  });

  it('rejects a waiting producer with the parser\'s failure', async () => {
    const feed = new ByteFeed(0);
    const waiting = feed.push(chunkOf(1));
    const failure = new Error('refused');

    feed.fail(failure);

    await expect(waiting).rejects.toBe(failure);
    await expect(feed.push(chunkOf(2))).rejects.toBe(failure);
  });
});
