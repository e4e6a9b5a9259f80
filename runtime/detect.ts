// Which runtime runs this code, and the matching adapter; for dev entries and test fixtures only.
//
// Deno and Bun both provide `process` (and Bun even `process.versions.node`), so their own globals
// are checked first; Node is what is left.

import type { Runtime } from "./types.ts";

export type RuntimeName = Runtime["name"];

/** The runtime executing this code. */
export function detectRuntime(): RuntimeName {
  const g = globalThis as { Deno?: { version?: { deno?: unknown } }; Bun?: unknown };
  if (typeof g.Deno?.version?.deno === "string") return "deno";
  if (g.Bun !== undefined) return "bun";
  return "node";
}

/**
 * Build the adapter for `name` (default: the running one). The adapters are imported lazily, so
 * one bundle can hold all three while only the matching one is evaluated.
 *
 * @example
 * ```ts
 * const rt = await loadRuntime();
 * rt.writeStdout(`running on ${rt.name}\n`);
 * ```
 */
export async function loadRuntime(name: RuntimeName = detectRuntime()): Promise<Runtime> {
  switch (name) {
    case "deno":
      return (await import("./deno.ts")).createDenoRuntime();
    case "bun":
      return (await import("./bun.ts")).createBunRuntime();
    case "node":
      return (await import("./node.ts")).createNodeRuntime();
  }
}
