// YAML text -> pools of raw key/value strings, checking the shape twemproxy allows (nc_conf.c conf_pre_validate).
//
// twemproxy reads its YAML with libyaml three times before it looks at any value:
//   conf_validate_document   exactly one document
//   conf_validate_tokens     no directives, `---`/`...`, flow `[]{}`, anchors, aliases or tags
//   conf_validate_structure  pool name -> mapping; values are scalars; exactly one sequence per pool
// and only then parses values in file order (conf_parse). This module does the three checks, in
// that order, with the `yaml` package: its CST gives the tokens with offsets, its composer the
// tree. The failsafe schema keeps every scalar a string, as libyaml gives them: `True`, `0400`,
// `~` and `1e3` stay text, for the value checks to accept or reject as twemproxy does.

import { Composer, isMap, isScalar, isSeq, LineCounter, Parser } from "yaml";
import type { Node as YamlNode } from "yaml";
import { ConfError } from "./errors.ts";
import type { ConfErrorCode } from "./errors.ts";

/** One `key: value` of a pool; a sequence under a key gives one entry per item, all with that key. */
export interface RawEntry {
  readonly key: string;
  readonly keyLine: number;
  /** The scalar as libyaml would give it (quotes and escapes resolved); may be empty. */
  readonly value: string;
  readonly line: number;
  /** True when the value came from a sequence item. */
  readonly inSeq: boolean;
}

/** A pool as written: its name and entries in file order, nothing checked yet but the shape. */
export interface RawPool {
  readonly name: string;
  readonly line: number;
  readonly entries: readonly RawEntry[];
}

/** CST token types libyaml would report as a disallowed token, with how we name them. */
/** Lists that may stand beside the one twemproxy allows (ours: replica groups). */
const GROUP_LISTS: ReadonlySet<string> = new Set(["sentinels", "replicas"]);

const DISALLOWED: Readonly<Record<string, string>> = {
  directive: "directives (%YAML, %TAG) are not allowed",
  "doc-start": 'the document start marker "---" is not allowed',
  "doc-end": 'the document end marker "..." is not allowed',
  "flow-seq-start": "flow sequences ([...]) are not allowed",
  "flow-map-start": "flow mappings ({...}) are not allowed",
  comma: "flow entries (,) are not allowed",
  anchor: "anchors (&name) are not allowed",
  alias: "aliases (*name) are not allowed",
  tag: "tags (!tag) are not allowed",
};

/** The first disallowed CST token by offset, searching every nested token. */
function firstDisallowed(root: unknown): { offset: number; what: string } | null {
  let best: { offset: number; what: string } | null = null;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const t = stack.pop();
    if (Array.isArray(t)) {
      for (const x of t) stack.push(x);
      continue;
    }
    if (typeof t !== "object" || t === null) continue;
    const rec = t as Record<string, unknown>;
    const what = typeof rec.type === "string" ? DISALLOWED[rec.type] : undefined;
    if (what !== undefined && typeof rec.offset === "number" && (best === null || rec.offset < best.offset)) {
      best = { offset: rec.offset, what };
    }
    for (const [k, v] of Object.entries(rec)) {
      if (k !== "source" && typeof v === "object" && v !== null) stack.push(v);
    }
  }
  return best;
}

/**
 * Parses `text` and returns its pools in file order, or throws ConfError for what twemproxy's
 * pre-validation rejects: bad YAML (E_CONF_YAML), document count (E_CONF_DOCUMENT_COUNT),
 * disallowed tokens (E_CONF_DISALLOWED_TOKEN), and the wrong shape (E_CONF_STRUCTURE,
 * E_CONF_MISSING_SERVERS when a pool has no sequence and no `servers` key at all).
 */
export function loadConfYaml(text: string, fileName: string): RawPool[] {
  const fail = (code: ConfErrorCode, line: number | null, key: string | null, pool: string | null, detail: string) =>
    new ConfError(code, { file: fileName, line, key, pool, detail });

  // libyaml rejects bytes that are not UTF-8. We get text the runtime has already decoded, where
  // such bytes became U+FFFD; a real U+FFFD in a config file is far less likely than a bad byte.
  const replaced = text.indexOf("\uFFFD");
  if (replaced >= 0) {
    const line = text.slice(0, replaced).split(/\r\n|\r|\n/).length;
    throw fail("E_CONF_YAML", line, null, null, "invalid YAML: the file is not valid UTF-8");
  }

  // libyaml (YAML 1.1) also breaks lines at a lone CR, the yaml package does not; one character
  // for one, so offsets and line numbers stay the same
  const source = text.replace(/\r(?!\n)/g, "\n");

  const lc = new LineCounter();
  const tokens = [...new Parser(lc.addNewLine).parse(source)];
  const composer = new Composer({ schema: "failsafe", uniqueKeys: false, strict: true });
  const docs = [...composer.compose(tokens)];
  const lineOf = (offset: number): number => lc.linePos(offset).line;

  const yamlErrors = [...docs.flatMap((d) => d.errors), ...composer.streamInfo().errors];
  yamlErrors.sort((a, b) => a.pos[0] - b.pos[0]);
  const firstError = yamlErrors[0];
  if (firstError !== undefined) {
    // the yaml package appends " at line L, column C" only when it prettifies; cut any such tail
    const detail = firstError.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    throw fail("E_CONF_YAML", lineOf(firstError.pos[0]), null, null, `invalid YAML: ${detail}`);
  }

  if (docs.length !== 1) {
    throw fail(
      "E_CONF_DOCUMENT_COUNT",
      null,
      null,
      null,
      `expected exactly 1 YAML document, found ${docs.length}`,
    );
  }

  const bad = firstDisallowed(tokens);
  if (bad !== null) throw fail("E_CONF_DISALLOWED_TOKEN", lineOf(bad.offset), null, null, bad.what);

  const doc = docs[0]!;
  const nodeLine = (n: YamlNode | null | undefined, fallback: number): number =>
    n?.range ? lineOf(n.range[0]) : fallback;

  const root = doc.contents;
  if (!isMap(root)) {
    throw fail(
      "E_CONF_STRUCTURE",
      nodeLine(root, 1),
      null,
      null,
      "expected a mapping of pool names to pools at the top level",
    );
  }

  const pools: RawPool[] = [];
  for (const pair of root.items) {
    const keyNode = pair.key as YamlNode | null;
    const valueNode = pair.value as YamlNode | null;
    const poolLine = nodeLine(keyNode, nodeLine(valueNode, 1));
    if (keyNode !== null && !isScalar(keyNode)) {
      throw fail("E_CONF_STRUCTURE", poolLine, null, null, "a pool name must be a plain string");
    }
    const poolName = keyNode === null ? "" : String(keyNode.value ?? "");
    if (!isMap(valueNode)) {
      throw fail(
        "E_CONF_STRUCTURE",
        poolLine,
        null,
        poolName,
        `pool "${poolName}" must be a mapping of keys to values`,
      );
    }

    const entries: RawEntry[] = [];
    let seqKey: string | null = null;
    for (const item of valueNode.items) {
      const k = item.key as YamlNode | null;
      const v = item.value as YamlNode | null;
      const keyLine = nodeLine(k, nodeLine(v, poolLine));
      if (k !== null && !isScalar(k)) {
        throw fail("E_CONF_STRUCTURE", keyLine, null, poolName, "a key must be a plain string");
      }
      const key = k === null ? "" : String(k.value ?? "");
      if (v === null || isScalar(v)) {
        const value = v === null ? "" : String(v.value ?? "");
        entries.push({ key, keyLine, value, line: nodeLine(v, keyLine), inSeq: false });
        continue;
      }
      if (isMap(v)) {
        throw fail("E_CONF_STRUCTURE", keyLine, key, poolName, "nested mappings are not allowed: the value must be a string");
      }
      if (isSeq(v)) {
        // our replica-group lists come beside `servers`; 0.5.0 rejects any second list, so no file
        // it accepts changes meaning
        const extra = GROUP_LISTS.has(key);
        if (seqKey !== null && !extra) {
          throw fail(
            "E_CONF_STRUCTURE",
            keyLine,
            key,
            poolName,
            `pool "${poolName}" has a second sequence: only one key (normally "servers") may hold a list, and "${seqKey}" already does`,
          );
        }
        if (!extra) seqKey = key;
        for (const elem of v.items) {
          const e = elem as YamlNode | null;
          const line = nodeLine(e, keyLine);
          if (e === null || isScalar(e)) {
            entries.push({ key, keyLine, value: e === null ? "" : String(e.value ?? ""), line, inSeq: true });
          } else if (isSeq(e)) {
            throw fail("E_CONF_STRUCTURE", line, key, poolName, "nested sequences are not allowed: list items must be strings");
          } else {
            throw fail("E_CONF_STRUCTURE", line, key, poolName, "nested mappings are not allowed: list items must be strings");
          }
        }
        continue;
      }
      throw fail("E_CONF_STRUCTURE", keyLine, key, poolName, "unexpected YAML node");
    }

    if (seqKey === null) {
      if (!entries.some((e) => e.key === "servers")) {
        throw fail("E_CONF_MISSING_SERVERS", poolLine, "servers", poolName, `pool "${poolName}" has no "servers"`);
      }
      throw fail(
        "E_CONF_STRUCTURE",
        poolLine,
        "servers",
        poolName,
        `pool "${poolName}" has no sequence: "servers" must be a list ("- host:port:weight" lines)`,
      );
    }
    pools.push({ name: poolName, line: poolLine, entries });
  }
  return pools;
}
