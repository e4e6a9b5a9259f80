// The runtime contract on every runtime: the same fixture runs its scenarios under node (bundled, on Node 20, 22, 24 and 26), bun and deno.
//
// test/fixtures/contract_fixture.ts imports the adapter of whatever runs it (runtime/detect.ts)
// and prints one JSON line per scenario; each line becomes one test here, named after the runtime
// (node20 ... node26: the Node lines of test/helpers/runtimes.ts).
// Its TLS scenarios (test/fixtures/contract_tls.ts) use certificates made here (--certs) and two
// node:tls peers run here that report what a client showed them (--tls-ask-port, --tls-require-port).

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCENARIOS, type ScenarioResult } from "./fixtures/contract_scenarios.ts";
import { type Certs, makeCerts } from "./helpers/certs.ts";
import { BUN, bundleForNode, ROOT, type RuntimeName, runtimeTargets } from "./helpers/runtimes.ts";

const FIXTURE = join(ROOT, "test", "fixtures", "contract_fixture.ts");
const FIXTURE_TIMEOUT_MS = 90_000;
// a space and non-ASCII text check that arguments reach the program unchanged
const MARKER = "marker with spaces é";

interface Run {
  readonly results: Map<string, ScenarioResult>;
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
}

/** A way to run the fixture: the runtimes (node on each Node line), plus the fixture as a `bun build --compile` binary. */
interface Target {
  readonly name: string;
  readonly runtime: RuntimeName;
  /** For the describe: "node22 (v22.23.5)". */
  readonly label: string;
  /** Why it cannot run as named (a Node line's executable missing or another version), or null. */
  readonly problem: string | null;
  cmd(args: readonly string[]): string[];
}

const work = mkdtempSync(join(tmpdir(), "nc-contract-"));
const bundle = join(work, "contract_fixture.mjs");
const compiled = join(work, "contract_fixture_bun");
const targets: readonly Target[] = [
  ...runtimeTargets({ ts: FIXTURE, nodeBundle: bundle }),
  // argv differs in a compiled binary (["bun", "/$bunfs/root/<name>", ...args]); args, spawnDetached
  // and the rest must still hold there. deno compile needs a runtime download, so it is not here.
  { name: "bun-compiled", runtime: "bun", label: "bun-compiled", problem: null, cmd: (args) => [compiled, ...args] },
];
const runs = new Map<string, Promise<Run>>();
const peers: net.Server[] = [];
let certs: Certs | null = null;

/** The ports and files the fixture is given. */
interface Env {
  readonly resetPort: number;
  readonly askPort: number;
  readonly requirePort: number;
  readonly certsDir: string;
}

/** Listen on 127.0.0.1 and a free port; resolves with the port. */
function listenPeer(peer: net.Server): Promise<number> {
  peers.push(peer);
  return new Promise<number>((resolve) => {
    peer.listen(0, "127.0.0.1", () => resolve((peer.address() as net.AddressInfo).port));
  });
}

/**
 * A TLS server that asks clients for a certificate (and with `require`, refuses one without),
 * answers "sni=<name|none> cert=<CN|none> authorized=<bool>" and ends (a bare FIN: node:tls sends no close_notify).
 */
function tlsPeer(c: Certs, require: boolean): tls.Server {
  const pem = (f: string) => readFileSync(f, "utf8");
  const peer = tls.createServer(
    // half-open: its socket goes once the client has ended or closed too
    { cert: pem(c.server.cert), key: pem(c.server.key), ca: pem(c.ca), requestCert: true, rejectUnauthorized: require, allowHalfOpen: true },
    (s) => {
      const cn = (s.getPeerCertificate() as { subject?: { CN?: string } }).subject?.CN ?? "none";
      const sni = typeof s.servername === "string" && s.servername !== "" ? s.servername : "none";
      s.end(`sni=${sni} cert=${cn} authorized=${s.authorized}\n`);
    },
  );
  // a client that fails the handshake on purpose is no error of the test's
  peer.on("tlsClientError", () => {});
  return peer;
}

/** Run the fixture under `t` to completion and collect its result lines. */
function runFixture(t: Target, env: Env): Promise<Run> {
  const dir = join(work, t.name);
  mkdirSync(dir, { recursive: true });
  const [cmd, ...args] = t.cmd([
    "--tmp", dir,
    "--reset-port", String(env.resetPort),
    "--certs", env.certsDir,
    "--tls-ask-port", String(env.askPort),
    "--tls-require-port", String(env.requirePort),
    "--marker", MARKER,
  ]);
  return new Promise((resolve) => {
    // a Node line that is not there fails every scenario with the reason
    if (t.problem !== null && !existsSync(cmd as string)) {
      resolve({ results: new Map(), stdout: "", stderr: t.problem, code: null });
      return;
    }
    const child = spawn(cmd as string, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.on("error", (e) => (stderr += `\n[spawn ${cmd}: ${e.message}]`));
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${FIXTURE_TIMEOUT_MS} ms]`;
      child.kill("SIGKILL");
    }, FIXTURE_TIMEOUT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      const results = new Map<string, ScenarioResult>();
      for (const line of stdout.split("\n")) {
        if (!line.startsWith("{")) continue;
        const r = JSON.parse(line) as Partial<ScenarioResult>;
        if (typeof r.scenario === "string") results.set(r.scenario, r as ScenarioResult);
      }
      resolve({ results, stdout, stderr, code });
    });
  });
}

beforeAll(async () => {
  bundleForNode(FIXTURE, bundle);
  const c = spawnSync(BUN, ["build", "--compile", "--outfile", compiled, FIXTURE], { cwd: ROOT, encoding: "utf8" });
  if (c.status !== 0) throw new Error(`Cannot compile the fixture with bun: ${c.stderr}`);
  certs = makeCerts();
  const env: Env = {
    // the peer for peer_reset: accepts and answers with RST at once
    resetPort: await listenPeer(net.createServer((s) => s.resetAndDestroy())),
    askPort: await listenPeer(tlsPeer(certs, false)),
    requirePort: await listenPeer(tlsPeer(certs, true)),
    certsDir: certs.dir,
  };
  // one runtime at a time: the scenarios time pauses and move 100 MB, and there are two cores
  let prev: Promise<unknown> = Promise.resolve();
  for (const t of targets) {
    const run = prev.then(() => runFixture(t, env));
    runs.set(t.name, run);
    prev = run;
  }
}, 30_000);

afterAll(() => {
  for (const p of peers) p.close();
  rmSync(work, { recursive: true, force: true });
  if (certs !== null) rmSync(certs.dir, { recursive: true, force: true });
});

describe.each(targets)("runtime contract on $label", ({ name, runtime, problem }) => {
  // a Node line is the version it is named after, installed where npm ci puts it (runtimes.ts)
  if (runtime === "node") {
    it(`${name}: is Node ${name.slice(4)}`, () => {
      expect(problem, `${name}: ${problem}`).toBeNull();
    });
  }

  it.each(SCENARIOS)(`${name}: %s`, async (scenario) => {
    const run = await (runs.get(name) as Promise<Run>);
    const r = run.results.get(scenario);
    const output = `exit ${run.code}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
    expect(r, `no result for ${scenario} on ${name}; ${output}`).toBeDefined();
    expect(r?.ok, `${name} ${scenario}: ${r?.error}\n${output}`).toBe(true);
  });

  it(`${name}: fixture exits 0 after the last scenario`, async () => {
    const run = await (runs.get(name) as Promise<Run>);
    expect(run.stdout).toContain(`{"done":true,"runtime":"${runtime}"}`);
    expect(run.code).toBe(0);
  });
});
