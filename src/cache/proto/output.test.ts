// OutBuf: replies handed out without copies; commit/truncate drop exactly what memcached would not have sent.

import { describe, expect, it } from "vitest";
import { OutBuf, ascii } from "./output.ts";

function sink(): { write(b: Uint8Array): boolean; text(): string; writes: number } {
  const got: Uint8Array[] = [];
  return {
    writes: 0,
    write(b: Uint8Array): boolean {
      got.push(b.slice());
      this.writes++;
      return true;
    },
    text: () => Buffer.concat(got).toString("latin1"),
  };
}

describe("OutBuf", () => {
  it("flush(all) sends everything in order, in one write when nothing was shared", () => {
    const o = new OutBuf();
    const s = sink();
    o.put(ascii("A "));
    o.num(12345);
    o.str(" B");
    o.flush(s, true);
    expect(s.text()).toBe("A 12345 B");
    expect(s.writes).toBe(1);
  });

  it("truncate drops what was written after the last commit, across shared views and new chunks", () => {
    const o = new OutBuf();
    const s = sink();
    o.str("kept1 ");
    o.share(ascii("VIEW "));
    o.str("kept2 ");
    o.commit();
    o.str("gone1 ");
    o.share(ascii("GONE "));
    o.str("x".repeat(70_000)); // forces a new chunk
    o.truncate();
    o.str("after");
    o.flush(s, true);
    expect(s.text()).toBe("kept1 VIEW kept2 after");
  });

  it("flush(committed only) keeps the uncommitted tail for later", () => {
    const o = new OutBuf();
    const s = sink();
    o.str("one ");
    o.commit();
    o.str("two ");
    o.flush(s, false);
    expect(s.text()).toBe("one ");
    o.str("three");
    o.flush(s, true);
    expect(s.text()).toBe("one two three");
  });

  it("a commit inside a segment that is then shared splits it at the mark", () => {
    const o = new OutBuf();
    const s = sink();
    o.str("a ");
    o.commit();
    o.str("b ");
    o.share(ascii("c "));
    o.flush(s, false);
    expect(s.text()).toBe("a ");
    o.truncate();
    o.flush(s, true);
    expect(s.text()).toBe("a ");
  });
});
