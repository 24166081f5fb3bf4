/**
 * The honest floor: the CPU the worker cannot avoid, as the sum of its primitives
 * measured alone in the same run (bench/streaming/floor-process.ts). The file reads that feed
 * four of them are measured too and taken out, so each piece counts only its own work.
 */
import type { Variant, VariantFigures } from '../streaming/streaming-bench';
import { medianSpread, perTurn, type Spread } from './spread';

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
  return { ...parts, cpuS: parts.download + parts.sha256 + parts.gunzip + parts.tarWalk + parts.upload };
}

/** CPU ms of the pieces in one turn, as each ran (the file-fed ones with their read still in). */
export interface FloorPieces {
  read: number;
  download: number;
  sha256: number;
  list: number;
  upload: number;
}

/** One turn's floor in CPU ms: the download, and each file-fed piece less the read that feeds it. */
export function floorCpuOf(turn: FloorPieces): number {
  const alone = (cpuMs: number): number => Math.max(0, cpuMs - turn.read);
  return turn.download + alone(turn.sha256) + alone(turn.list) + alone(turn.upload);
}

/** The floor of each turn in CPU ms (the same sum as honestFloor's, within one turn); none unless every piece ran every turn. */
export function floorTurns(variants: Partial<Record<Variant, VariantFigures>>): number[] {
  const { read, download, sha256, gunzip, list, upload } = variants;
  if (!read || !download || !sha256 || !gunzip || !list || !upload) return [];
  return read.turns.flatMap((r, i) => {
    const [d, s, l, u] = [download, sha256, list, upload].map((piece) => piece.turns[i]);
    if (!d || !s || !l || !u) return [];
    return [floorCpuOf({ read: r.cpu_ms, download: d.cpu_ms, sha256: s.cpu_ms, list: l.cpu_ms, upload: u.cpu_ms })];
  });
}

/**
 * The worker's CPU (into the sink) ÷ the floor's, per turn: the median of those ratios, its
 * interval and how many turns it is taken over; none without a worker or a floor turn.
 */
export function cpuTurnRatios(variants: Partial<Record<Variant, VariantFigures>>): { spread: Spread; turns: number } | undefined {
  const ratios = perTurn(variants.worker?.turns.map((t) => t.cpu_ms) ?? [], floorTurns(variants));
  return ratios.length === 0 ? undefined : { spread: medianSpread(ratios), turns: ratios.length };
}
