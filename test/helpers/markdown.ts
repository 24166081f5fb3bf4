/**
 * Just enough of GitHub-flavoured Markdown to check the documents: headings and the anchors GitHub
 * makes of them, link targets outside code, and the rows of a table under a heading.
 */

export interface LinkTarget {
  target: string;
  line: number;
}

const FENCE = /^\s{0,3}(`{3,}|~{3,})/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/;

/** The text with fenced code blocks blanked out (lines kept, so line numbers stay true). */
export function withoutFences(markdown: string): string[] {
  let fence: string | undefined;
  return markdown.split('\n').map((line) => {
    const opening = FENCE.exec(line)?.[1];
    if (fence === undefined && opening !== undefined) {
      fence = opening;
      return '';
    }
    if (fence !== undefined) {
      if (line.trim().startsWith(fence.charAt(0).repeat(fence.length))) fence = undefined;
      return '';
    }
    return line;
  });
}

/** The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens. */
export function githubSlug(heading: string): string {
  const text = heading.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1');
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor the document's headings make; a repeated heading gets `-1`, `-2`, … as on GitHub. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFences(markdown)) {
    const text = HEADING.exec(line)?.[2];
    if (text === undefined) continue;
    const slug = githubSlug(text);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/**
 * What a reader can follow: inline links and images, reference definitions, autolinks, HTML
 * `href`/`src`, and bare URLs (GitHub turns those into links too). Code is not a link.
 */
export function linkTargets(markdown: string): LinkTarget[] {
  const found: LinkTarget[] = [];
  withoutFences(markdown).forEach((raw, index) => {
    const line = raw.replace(/(`+)(?:(?!\1).)+?\1/g, '');
    const add = (target: string | undefined): void => {
      if (target) found.push({ target, line: index + 1 });
    };
    const definition = /^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/.exec(line);
    if (definition) return add(definition[1]);
    for (const match of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) add(match[1]);
    for (const match of line.matchAll(/<([a-z][a-z0-9+.-]*:[^>\s]*)>/gi)) add(match[1]);
    for (const match of line.matchAll(/\b(?:href|src)\s*=\s*["']([^"']+)["']/gi)) add(match[1]);
    const prose = line.replace(/!?\[[^\]]*\]\([^)]*\)|<[^>]*>/g, '');
    for (const match of prose.matchAll(/\b(?:https?:\/\/|www\.)[^\s)<>]+/gi)) add(match[0]);
  });
  return found;
}

/** The lines under the heading whose text is `heading`, up to the next heading of its level or above. */
export function section(markdown: string, heading: string): string[] | undefined {
  const lines = withoutFences(markdown);
  const levelOf = (line: string): number | undefined => HEADING.exec(line)?.[1]?.length;
  const start = lines.findIndex((line) => HEADING.exec(line)?.[2] === heading);
  const level = start < 0 ? undefined : levelOf(lines[start] ?? '');
  if (level === undefined) return undefined;
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((line) => (levelOf(line) ?? Infinity) <= level);
  return end < 0 ? rest : rest.slice(0, end);
}

/** The cells of every table body row in `lines` (header and delimiter rows left out). */
export function tableRows(lines: string[]): string[][] {
  const rows: string[][] = [];
  let inTable = false;
  for (const line of lines) {
    if (!line.trim().startsWith('|')) {
      inTable = false;
      continue;
    }
    const cells = line
      .trim()
      .replace(/^\||\|$/g, '')
      .split(/(?<!\\)\|/)
      .map((cell) => cell.trim());
    if (!inTable) {
      inTable = true; // the header row
      continue;
    }
    if (cells.every((cell) => /^:?-+:?$/.test(cell))) continue;
    rows.push(cells);
  }
  return rows;
}

/** The contents of the code spans in a table cell: `` `A`, `B` `` → ['A', 'B']. */
export function codeSpans(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1] ?? '');
}
