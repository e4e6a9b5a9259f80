// `nutcracker -t`: what to print and the exit code for a configuration file (nc.c nc_test_conf).

import { parseConf } from "./parse.ts";
import type { PoolConf } from "./types.ts";

/** One line of output, without its trailing newline. */
export interface TestConfLine {
  readonly stream: "stdout" | "stderr";
  readonly text: string;
}

export interface TestConfResult {
  readonly ok: boolean;
  readonly lines: readonly TestConfLine[];
  /** Process exit code: 0 valid, 1 invalid or unreadable (as nutcracker 0.5.0). */
  readonly code: number;
}

/**
 * Checks a configuration file's text for `-t`. nutcracker writes its verdict to stderr:
 * `nutcracker: configuration file '<file>' syntax is ok` (exit 0) or `... syntax is invalid`
 * (exit 1). We print the same line, and then the reason (file, line, key), which twemproxy
 * never shows because its logger is not set up yet when -t runs.
 *
 * Deliberate difference: for a file that loads but fails a check, nutcracker prints the
 * "syntax is invalid" line twice (conf_create and nc_test_conf both print it); we print it once.
 *
 * @param text The file's contents, or null when the file could not be read.
 * @param fileName The path as given with -c; printed as is.
 * @param readError Why the file could not be read (e.g. "No such file or directory"), when text is null.
 *
 * @example
 * ```ts
 * const r = testConfText(null, "conf/missing.yml", "No such file or directory");
 * for (const l of r.lines) (l.stream === "stderr" ? rt.writeStderr : rt.writeStdout)(l.text + "\n");
 * rt.exit(r.code);
 * ```
 */
export function testConfText(
  text: string | null,
  fileName: string,
  readError?: string,
  /** Checks beyond the text (ours: the TLS files exist and are PEM); throws an Error saying why. */
  check?: (pool: PoolConf) => void,
): TestConfResult {
  const invalid = `nutcracker: configuration file '${fileName}' syntax is invalid`;
  if (text === null) {
    const why = `Cannot read configuration "${fileName}"${readError !== undefined ? `: ${readError}` : ""}`;
    return { ok: false, code: 1, lines: [{ stream: "stderr", text: invalid }, { stream: "stderr", text: why }] };
  }
  try {
    for (const pool of parseConf(text, fileName)) check?.(pool);
  } catch (e) {
    if (!(e instanceof Error)) throw e;
    return { ok: false, code: 1, lines: [{ stream: "stderr", text: invalid }, { stream: "stderr", text: e.message }] };
  }
  return {
    ok: true,
    code: 0,
    lines: [{ stream: "stderr", text: `nutcracker: configuration file '${fileName}' syntax is ok` }],
  };
}
