/**
 * An entry name or link target as text, from the bytes an archive holds. Valid UTF-8 is decoded
 * as such; every byte that is not part of valid UTF-8 becomes the lone surrogate U+DC80–U+DCFF
 * (Python's "surrogateescape"). Two different byte strings never become the same text, so two
 * paths compare equal exactly when their bytes do, which is what an extractor writing bytes to
 * disk sees. (Replacing bad bytes with U+FFFD would let `x\xfe` and `x\xff` be one path here and
 * two on disk, and a link through one could hide where the other leads.)
 */
import { isUtf8 } from 'node:buffer';

/** Length of the valid UTF-8 sequence starting at `at`, or 0 if the byte there starts none. */
function sequenceLength(bytes: Uint8Array, at: number): number {
  const lead = bytes[at] ?? 0;
  if (lead < 0x80) return 1;
  const length = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
  if (length === 0 || at + length > bytes.length) return 0;
  for (let k = 1; k < length; k += 1) if (((bytes[at + k] ?? 0) & 0xc0) !== 0x80) return 0;
  const second = bytes[at + 1] ?? 0;
  // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not valid UTF-8.
  if ((lead === 0xe0 && second < 0xa0) || (lead === 0xed && second >= 0xa0)) return 0;
  if ((lead === 0xf0 && second < 0x90) || (lead === 0xf4 && second >= 0x90)) return 0;
  return length;
}

export function textOfName(bytes: Buffer): string {
  if (isUtf8(bytes)) return bytes.toString('utf8');
  let text = '';
  for (let at = 0; at < bytes.length; ) {
    const length = sequenceLength(bytes, at);
    if (length === 0) {
      text += String.fromCharCode(0xdc00 + (bytes[at] ?? 0));
      at += 1;
    } else {
      text += bytes.toString('utf8', at, at + length);
      at += length;
    }
  }
  return text;
}
