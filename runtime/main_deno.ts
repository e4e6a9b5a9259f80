// Deno entry: `deno run -A runtime/main_deno.ts` and `deno compile`.
import { start } from "../src/main.ts";
import { createDenoRuntime } from "./deno.ts";

const rt = createDenoRuntime();
start(rt, rt.args).catch((e: unknown) => {
  rt.writeStderr(`nutcracker: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  rt.exit(1);
});
