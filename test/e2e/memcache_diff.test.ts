// Memcache pools checked against the real thing (issue 5): every corpus sequence through nutcracker 0.5.0 and our proxy, byte for byte.
//
// Each system (nutcracker; ours on the Node bundle; ours on Deno) sits in front of its own four
// memcached (`-t 1`): pool `one` of 1 server and pool `three` of 3. Per configuration the systems
// start once; per sequence the backends are flushed and the systems play it concurrently. Ours
// must return the same bytes and close (or keep open) the connection exactly when nutcracker
// does, except for the sequences in DIFFERENCES: gat/gats and the meta commands, which we answer
// as memcached itself does (compared with nutcracker's single backend, played directly), and keys
// with control characters, which we close on.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIFFERENCES, MC_CORPUS, TWEMPROXY_CLOSES_ON } from "../fixtures/memcache_corpus.ts";
import { describeDifference, levelAndFlush, type McSequence, McSystem, type Outcome, play } from "../helpers/mc_diff.ts";

const CONFIGS = [
  { name: "-m 16384", mbuf: 16384, memcached: [] as string[] },
  { name: "-m 512", mbuf: 512, memcached: [] as string[] },
  { name: "-m 512, memcached -I 2m", mbuf: 512, memcached: ["-I", "2m"] },
];
const OURS = ["node", "deno"] as const;

describe("memcache corpus", () => {
  it("has at least 200 sequences, unique names, and every difference names one of them", () => {
    expect(MC_CORPUS.length).toBeGreaterThanOrEqual(200);
    const names = new Set(MC_CORPUS.map((s) => s.name));
    expect(names.size).toBe(MC_CORPUS.length);
    for (const [name, d] of DIFFERENCES) {
      expect(names.has(name), name).toBe(true);
      if (d.ours === "memcached") expect(MC_CORPUS.find((s) => s.name === name)!.pool, name).toBe("one");
    }
  });
});

describe.each(CONFIGS)("memcache differential, $name", (cfg) => {
  let nc: McSystem;
  let ours: McSystem[] = [];
  /** memcached's reply to a `version` marker. */
  let versionLine = "";

  beforeAll(async () => {
    const started = await Promise.allSettled([
      McSystem.start("nutcracker", cfg.mbuf, cfg.memcached),
      ...OURS.map((t) => McSystem.start(t, cfg.mbuf, cfg.memcached)),
    ]);
    const ok = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const failed = started.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
    if (failed.length > 0) {
      await Promise.all(ok.map((s) => s.stop()));
      throw new Error(failed.join("\n"));
    }
    [nc, ...ours] = ok as [McSystem, ...McSystem[]];
    const v = await play(nc.one.port, { name: "version", pool: "one", steps: [new Uint8Array(0)] });
    versionLine = v.bytes.toString("latin1");
    expect(versionLine).toMatch(/^VERSION \S+\r\n$/);
  });

  afterAll(async () => {
    const all = [nc, ...ours].filter((s) => s !== undefined);
    const codes = await Promise.all(all.map((s) => s.stop()));
    for (const [i, s] of all.entries()) {
      if (s.name === "nutcracker") continue;
      expect(s.stderr(), `${s.name} stderr`).not.toMatch(/TypeError|RangeError|ReferenceError|Uncaught|panic/);
      expect(codes[i], `${s.name} exit code`).toBe(0);
    }
  });

  it("twemproxy 0.5.0 closes the connection on gat, gats and the meta commands", async () => {
    for (const req of TWEMPROXY_CLOSES_ON) {
      const seq: McSequence = { name: req, pool: "three", steps: [Buffer.from(req)], end: "idle" };
      const got = await play(nc.ports.three, seq);
      expect({ req, reply: got.bytes.toString("latin1"), closed: got.closed }).toEqual({ req, reply: "", closed: true });
    }
  });

  for (const seq of MC_CORPUS) {
    it(seq.name, async () => {
      const problems: string[] = [];
      for (const s of ours) {
        const why = await s.revive();
        if (why !== "") problems.push(`before this sequence: ${why}`);
      }
      await levelAndFlush([nc, ...ours]);
      const listed = DIFFERENCES.get(seq.name);
      const diff = listed !== undefined && (listed.mbuf === undefined || listed.mbuf === cfg.mbuf) ? listed : undefined;
      // gat/gats/meta: the reference is nutcracker's single memcached, played directly
      const refPort = diff?.ours === "memcached" ? nc.one.port : nc.ports[seq.pool];
      const [ref, ...got] = await Promise.all([play(refPort, seq), ...ours.map((s) => play(s.ports[seq.pool], seq))]);
      const want: Outcome =
        diff === undefined || diff.ours === "memcached"
          ? ref!
          : { bytes: Buffer.from(diff.ours.reply.replaceAll("{V}", versionLine), "latin1"), closed: diff.ours.closed };
      const wantWhat = diff === undefined ? "nutcracker" : diff.ours === "memcached" ? "memcached directly" : "our documented outcome";
      for (const [i, s] of ours.entries()) {
        const d = describeDifference(got[i]!, want);
        if (d !== "") problems.push(`${s.name} vs ${wantWhat}: ${d}`);
        if (!s.alive()) problems.push(`${s.name} exited during the sequence: ${s.stderr().slice(-1500)}`);
      }
      if (diff !== undefined && diff.ours !== "memcached" && describeDifference(ref!, want) === "") {
        problems.push("nutcracker gives our documented outcome too: this is no difference, drop it from DIFFERENCES");
      }
      if (diff !== undefined && problems.length > 0) problems.push(`(difference on purpose: ${diff.reason})`);
      expect(problems.join("\n"), seq.name).toBe("");
    });
  }
});
