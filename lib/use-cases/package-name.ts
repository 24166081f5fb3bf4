/**
 * `package_name` (docs/api.md#answers): the file name the download's Content-Disposition gives, as
 * browsers, `curl -OJ` and `wget --content-disposition` take it; else the file name of the URL path;
 * else `package.<detected extension>`. Either name is sanitised the same way. Its extension is
 * always the detected format's: a .tar.gz served as `x.zip` is stored and downloaded
 * as `x.tar.gz`, so nobody opens it with the wrong tool.
 */
import type { PackageFormat } from '../archive/archive-listing';
import { contentDispositionFilenames } from '../download/content-disposition';

const MAX_NAME_LENGTH = 200;
const ARCHIVE_EXTENSION = /\.(?:tar\.gz|tgz|tar|zip|gz)$/i;

/**
 * A name never starts with `.` (hidden), `_` or `-` (read as an option by command-line tools), and
 * needs a letter or digit before its archive extension: `包.tar.gz` has none left, and stripping
 * would otherwise turn it into `tar.gz`, then `tar.tar.gz`.
 */
export function sanitisePackageName(raw: string): string | undefined {
  const base = raw.split(/[/\\]/).pop() ?? '';
  const replaced = base.normalize('NFC').replace(/[^A-Za-z0-9._+-]+/g, '_');
  if (!/[A-Za-z0-9]/.test(replaced.replace(ARCHIVE_EXTENSION, ''))) return undefined;
  return replaced.replace(/^[._-]+/, '').slice(0, MAX_NAME_LENGTH);
}

function lastPathSegment(url: URL): string {
  const segment = url.pathname.split('/').pop() ?? '';
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The extensions each format may keep, the first being the one given when the name has none of them. */
const EXTENSIONS: Record<PackageFormat, string[]> = {
  'tar.gz': ['.tar.gz', '.tgz'],
  tar: ['.tar'],
  zip: ['.zip'],
};

/** `name` with the format's extension: kept when it has one, else replacing an archive extension or added. */
export function withFormatExtension(name: string, format: PackageFormat): string {
  const extensions = EXTENSIONS[format];
  if (extensions.some((extension) => name.toLowerCase().endsWith(extension))) return name;
  const extension = extensions[0] ?? `.${format}`;
  const base = name.replace(ARCHIVE_EXTENSION, '');
  return `${/[A-Za-z0-9]/.test(base) ? base.slice(0, MAX_NAME_LENGTH - extension.length) : 'package'}${extension}`;
}

export function packageNameFor(url: URL, contentDisposition: string | undefined, format: PackageFormat): string {
  const candidates = [...contentDispositionFilenames(contentDisposition), lastPathSegment(url)];
  const name = candidates.map(sanitisePackageName).find((sanitised) => sanitised !== undefined) ?? 'package';
  return withFormatExtension(name, format);
}
