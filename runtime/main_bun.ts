// Bun entry: `bun runtime/main_bun.ts` and `bun build --compile`.
import { start } from "../src/main.ts";
import { createBunRuntime } from "./bun.ts";

const rt = createBunRuntime();
start(rt, rt.args).catch((e: unknown) => {
  rt.writeStderr(`nutcracker: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  rt.exit(1);
});
