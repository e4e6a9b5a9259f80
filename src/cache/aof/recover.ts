// Start-up of the cache log: drop a compaction a crash left unfinished, replay the log, judge (and maybe cut) a damaged tail.
//
// A crash can leave three things behind, and each has one answer:
//   - `<log>.compact` exists: a compaction died before its rename. The log itself is complete
//     (every record also went to it while the snapshot was written), so the temp file goes.
//   - the log ends inside a record (torn: the process or machine died mid-write) or a record
//     fails its checksum (corrupt: the disk or someone changed it). Everything from that record
//     on is the damaged tail. Without repair we refuse to start: silently dropping data that may
//     have been acknowledged is the operator's call, not ours.
//   - a header that is not ours: never repaired, whatever the flag says.

import type { Runtime } from "../../../runtime/types.ts";
import { HEADER_SIZE, header, LogScanner } from "./format.ts";
import type { JournalTarget } from "../journal.ts";

/** The file operations recovery and the live log need. */
export type AofRuntime = Pick<
  Runtime,
  | "readFileBytes"
  | "fileSize"
  | "openAppendFile"
  | "renameFile"
  | "truncateFile"
  | "syncDir"
  | "removeFile"
  | "setTimer"
  | "clearTimer"
  | "now"
  | "unixTime"
>;

/** A log that cannot be opened as it is; `code` tells a damaged tail from a file that is not a log. */
export class AofError extends Error {
  readonly code: "E_AOF_DAMAGED" | "E_AOF_FOREIGN";

  constructor(code: "E_AOF_DAMAGED" | "E_AOF_FOREIGN", message: string) {
    super(message);
    this.name = "AofError";
    this.code = code;
  }
}

export interface Recovered {
  /** Size of the log after recovery (and repair). */
  readonly size: number;
  /** The latest flush_all time replayed, which a snapshot must carry while it is in the future. */
  readonly lastFlushAt: number;
}

/** The temp file a compaction writes before renaming it over the log. */
export function compactPath(path: string): string {
  return `${path}.compact`;
}

/** The directory holding `path`, whose entry a create or rename changes. */
export function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  if (i < 0) return ".";
  return i === 0 ? "/" : path.slice(0, i);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * Replay the log at `path` into `target`, creating the log when there is none.
 *
 * @throws AofError when the file is not a log, or its tail is damaged and `repair` is false
 */
export function recoverAof(
  rt: AofRuntime,
  path: string,
  repair: boolean,
  target: JournalTarget,
  log: (line: string) => void,
): Recovered {
  const t0 = rt.now();
  const tmp = compactPath(path);
  if (rt.fileSize(tmp) >= 0) {
    rt.removeFile(tmp);
    log(`aof "${path}": removed "${tmp}", left by a compaction that did not finish (the log is complete without it)`);
  }
  if (rt.fileSize(path) < 0) {
    writeHeader(rt, path);
    rt.syncDir(dirOf(path));
    log(`aof "${path}": created`);
    return { size: HEADER_SIZE, lastFlushAt: 0 };
  }
  const bytes = rt.readFileBytes(path);
  const scan = new LogScanner(target);
  scan.feed(bytes);
  scan.end();
  if (scan.foreign !== null) throw new AofError("E_AOF_FOREIGN", `Cannot recover "${path}": ${scan.foreign}`);
  let size = bytes.length;
  const d = scan.damage;
  if (d !== null) {
    const dropped = bytes.length - d.offset;
    // the damaged record itself (a torn header holds none) plus intact ones chained after it
    const records = (d.offset === 0 ? 0 : 1) + scan.lostAfter;
    const what =
      `damaged tail at offset ${d.offset}, ${plural(dropped, "byte")} (${plural(records, "record")}): ` +
      `${d.kind} ${d.offset === 0 ? "header" : "record"}, ${d.detail}`;
    if (!repair) {
      throw new AofError("E_AOF_DAMAGED", `Cannot recover "${path}": ${what}; start with --repair to drop it`);
    }
    rt.truncateFile(path, d.offset);
    size = d.offset;
    log(`aof "${path}": repaired: dropped the ${what}`);
  }
  if (size < HEADER_SIZE) {
    // empty, or a header cut short and repaired away: a crash right after the file was created
    writeHeader(rt, path);
    size = HEADER_SIZE;
  }
  const ms = Math.round(rt.now() - t0);
  log(`aof "${path}": recovered ${plural(scan.records, "record")} (${plural(size, "byte")}) in ${ms} ms`);
  return { size, lastFlushAt: scan.lastFlushAt };
}

/** Start an empty log: its header, durable. */
function writeHeader(rt: AofRuntime, path: string): void {
  const f = rt.openAppendFile(path, true);
  try {
    const h = header();
    f.write(h, 0, h.length);
    f.sync();
  } finally {
    f.close();
  }
}
