// STYLE rule 1: nothing under src/ may mention Deno., Bun., node:net or process. (runtime globals live in runtime/).

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers/runtimes.ts";

const FORBIDDEN = /\bDeno\.|\bBun\.|node:net|\bprocess\./;

/** Every file under `dir`, whatever its extension: tests, data and docs count too. */
function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else out.push(p);
  }
  return out;
}

describe("src purity", () => {
  it("the pattern flags each runtime marker and nothing else", () => {
    for (const bad of ["Deno.listen(", "await Bun.connect", 'from "node:net"', "process.argv", "globalThis.process.env"]) {
      expect(FORBIDDEN.test(bad), bad).toBe(true);
    }
    for (const ok of ["subprocess.run", 'from "node:util"', "Denote. Bunny.", "processes."]) {
      expect(FORBIDDEN.test(ok), ok).toBe(false);
    }
  });

  it("no file under src/ mentions Deno., Bun., node:net or process.", () => {
    const bad: string[] = [];
    for (const f of files(join(ROOT, "src"))) {
      readFileSync(f, "utf8")
        .split("\n")
        .forEach((line, i) => {
          if (FORBIDDEN.test(line)) bad.push(`${relative(ROOT, f)}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(bad, `runtime globals under src/:\n${bad.join("\n")}`).toEqual([]);
  });
});
