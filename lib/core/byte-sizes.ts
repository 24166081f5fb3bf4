/**
 * A size as people read it in answers and logs: `512 MiB`, `4 GiB`, `64 KiB`, or the exact
 * count of bytes when it is no whole number of those (`50000 bytes`).
 */
const UNITS: [number, string][] = [
  [1024 ** 3, 'GiB'],
  [1024 ** 2, 'MiB'],
  [1024, 'KiB'],
];

export function sizeText(bytes: number): string {
  for (const [size, unit] of UNITS) if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  return `${bytes} bytes`;
}
