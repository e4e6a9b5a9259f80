// Bun entry: `bun runtime/main_bun.ts` and `bun build --compile`.
import { realpathSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { start } from "../src/main.ts";
import { createBunRuntime } from "./bun.ts";
import { spawnDetachedArgv } from "./process_node.ts";

/**
 * The path a compiled binary was started by, when it is a link to this very file. Linux names a
 * process (/proc/PID/comm, what pidof and pkill -x match) after the file exec'd, and execPath is
 * the resolved file: a `-d` daemon respawned from execPath of `nutcracker -> nutcracker-linux-x64`
 * would be called nutcracker-linu, not nutcracker like its parent and like twemproxy's fork.
 */
function invokedPath(): string | null {
  const argv0 = process.argv0;
  const self = realpathSync(process.execPath);
  const candidates = argv0.includes("/") ? [resolve(argv0)] : (process.env.PATH ?? "").split(delimiter).map((d) => join(d, argv0));
  for (const c of candidates) {
    try {
      if (realpathSync(c) === self) return c;
    } catch {
      // not there: argv0 can be anything the caller chose
    }
  }
  return null;
}

const base = createBunRuntime();
const compiled = Bun.main.startsWith("/$bunfs/");
const invoked = compiled ? invokedPath() : null;
const rt = invoked === null ? base : { ...base, spawnDetached: (args: readonly string[]) => spawnDetachedArgv([invoked, ...args]) };
start(rt, rt.args).catch((e: unknown) => {
  rt.writeStderr(`nutcracker: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  rt.exit(1);
});
