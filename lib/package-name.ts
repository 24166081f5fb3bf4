/**
 * `package_name` (DESIGN §2): the file name of the URL path, sanitised; where the path has
 * none, the name in Content-Disposition; else `package.<detected extension>`.
 */
import type { PackageFormat } from './package-record';

const MAX_NAME_LENGTH = 200;

export function sanitisePackageName(raw: string): string | undefined {
  const base = raw.split(/[/\\]/).pop() ?? '';
  const cleaned = base
    .normalize('NFC')
    .replace(/[^A-Za-z0-9._+-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(0, MAX_NAME_LENGTH);
  return /[A-Za-z0-9]/.test(cleaned) ? cleaned : undefined;
}

function lastPathSegment(url: URL): string {
  const segment = url.pathname.split('/').pop() ?? '';
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The filename of a Content-Disposition header; RFC 5987 `filename*` wins over `filename`. */
export function contentDispositionFilename(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const extended = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(header);
  if (extended?.[2]) {
    try {
      return decodeURIComponent(extended[2].trim());
    } catch {
      // Fall through to the plain parameter.
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))/i.exec(header);
  const value = plain?.[1] ?? plain?.[2];
  return value === undefined ? undefined : value.replace(/\\(.)/g, '$1').trim();
}

export function packageNameFor(url: URL, contentDisposition: string | undefined, format: PackageFormat): string {
  return (
    sanitisePackageName(lastPathSegment(url)) ??
    sanitisePackageName(contentDispositionFilename(contentDisposition) ?? '') ??
    `package.${format}`
  );
}
