/**
 * The honest floor: the CPU the worker cannot avoid, as the sum of its primitives
 * measured alone in the same run (bench/streaming/floor-process.ts). The file reads that feed
 * four of them are measured too and taken out, so each piece counts only its own work.
 */
import type { Variant, VariantFigures } from '../streaming/streaming-bench';

export interface FloorFigures {
  /** CPU seconds of each piece. */
  download: number;
  sha256: number;
  gunzip: number;
  /** The tar walk with every safety rule, without the gunzip that feeds it. */
  tarWalk: number;
  upload: number;
  /** Their sum. */
  cpuS: number;
  /** Wall seconds of the listing alone (read + gunzip + walk) and of the upload to the sink alone. */
  listingWallS: number;
  uploadWallS: number;
}

export function honestFloor(variants: Partial<Record<Variant, VariantFigures>>): FloorFigures | undefined {
  const { read, download, sha256, gunzip, list, upload } = variants;
  if (!read || !download || !sha256 || !gunzip || !list || !upload) return undefined;
  const alone = (figures: VariantFigures): number => Math.max(0, figures.cpuS - read.cpuS);
  const parts = {
    download: download.cpuS,
    sha256: alone(sha256),
    gunzip: alone(gunzip),
    tarWalk: Math.max(0, list.cpuS - gunzip.cpuS),
    upload: alone(upload),
  };
  return {
    ...parts,
    cpuS: parts.download + parts.sha256 + parts.gunzip + parts.tarWalk + parts.upload,
    listingWallS: list.wallS,
    uploadWallS: upload.wallS,
  };
}

/** Per turn: the floor's CPU and the walls of the listing and upload alone, from runs taken moments apart. */
export interface FloorTurn {
  cpuMs: number;
  listingWallMs: number;
  uploadWallMs: number;
}

/** The floor of each turn (the same sum as honestFloor's, within one turn); none unless every piece ran every turn. */
export function floorTurns(variants: Partial<Record<Variant, VariantFigures>>): FloorTurn[] {
  const { read, download, sha256, gunzip, list, upload } = variants;
  if (!read || !download || !sha256 || !gunzip || !list || !upload) return [];
  return read.turns.flatMap((r, i) => {
    const [d, s, l, u] = [download, sha256, list, upload].map((piece) => piece.turns[i]);
    if (!d || !s || !l || !u) return [];
    const alone = (cpuMs: number): number => Math.max(0, cpuMs - r.cpu_ms);
    return [{ cpuMs: d.cpu_ms + alone(s.cpu_ms) + alone(l.cpu_ms) + alone(u.cpu_ms), listingWallMs: l.wall_ms, uploadWallMs: u.wall_ms }];
  });
}
