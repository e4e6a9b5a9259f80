// Node entry: bundled by build.ts into dist/nutcracker.mjs (Node 20 cannot run TypeScript).
import { start } from "../src/main.ts";
import { createNodeRuntime } from "./node.ts";

const rt = createNodeRuntime();
start(rt, rt.args).catch((e: unknown) => {
  rt.writeStderr(`nutcracker: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  rt.exit(1);
});
