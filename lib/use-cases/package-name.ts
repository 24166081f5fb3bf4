/**
 * `package_name` (docs/api.md#answers): the file name of the URL path, sanitised; where the path has
 * none, the name in Content-Disposition; else `package.<detected extension>`. Its extension is
 * always the detected format's: a .tar.gz served as `x.zip` is stored and downloaded
 * as `x.tar.gz`, so nobody opens it with the wrong tool.
 */
import type { PackageFormat } from '../archive/archive-listing';

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

/** The extensions each format may keep, the first being the one given when the name has none of them. */
const EXTENSIONS: Record<PackageFormat, string[]> = {
  'tar.gz': ['.tar.gz', '.tgz'],
  tar: ['.tar'],
  zip: ['.zip'],
};
const ARCHIVE_EXTENSION = /\.(?:tar\.gz|tgz|tar|zip|gz)$/i;

/** `name` with the format's extension: kept when it has one, else replacing an archive extension or added. */
export function withFormatExtension(name: string, format: PackageFormat): string {
  const extensions = EXTENSIONS[format];
  if (extensions.some((extension) => name.toLowerCase().endsWith(extension))) return name;
  const extension = extensions[0] ?? `.${format}`;
  const base = name.replace(ARCHIVE_EXTENSION, '');
  return `${/[A-Za-z0-9]/.test(base) ? base.slice(0, MAX_NAME_LENGTH - extension.length) : 'package'}${extension}`;
}

export function packageNameFor(url: URL, contentDisposition: string | undefined, format: PackageFormat): string {
  const name =
    sanitisePackageName(lastPathSegment(url)) ?? sanitisePackageName(contentDispositionFilename(contentDisposition) ?? '') ?? 'package';
  return withFormatExtension(name, format);
}
