// Tests for nodeBinaryFiles (Node's half; Bun runs the same calls, and test/e2e/cache_persist.test.ts runs the log on all three runtimes).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { nodeBinaryFiles } from "./fs_node.ts";

const fs = nodeBinaryFiles();
const dir = mkdtempSync(join(tmpdir(), "nc-fs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bytes = (...x: number[]): Uint8Array => Uint8Array.from(x);

describe("nodeBinaryFiles()", () => {
  it("appends a range of bytes, syncs, reads back, sizes and truncates", async () => {
    const p = join(dir, "a.bin");
    expect(fs.fileSize(p)).toBe(-1);
    const f = fs.openAppendFile(p, false);
    f.write(bytes(9, 1, 2, 3, 9), 1, 4);
    f.sync();
    f.write(bytes(4, 5), 0, 2);
    const err = await new Promise<Error | null>((resolve) => f.syncInBackground(resolve));
    expect(err).toBeNull();
    f.close();
    expect(fs.readFileBytes(p)).toEqual(bytes(1, 2, 3, 4, 5));
    expect(fs.fileSize(p)).toBe(5);
    // reopening appends; truncate: true empties first
    const g = fs.openAppendFile(p, false);
    g.write(bytes(6), 0, 1);
    g.close();
    expect([...readFileSync(p)]).toEqual([1, 2, 3, 4, 5, 6]);
    fs.truncateFile(p, 2);
    expect([...readFileSync(p)]).toEqual([1, 2]);
    const h = fs.openAppendFile(p, true);
    h.write(bytes(7), 0, 1);
    h.close();
    expect([...readFileSync(p)]).toEqual([7]);
  });

  it("close() during a background sync waits for it, and the sync still reports", async () => {
    const p = join(dir, "b.bin");
    const f = fs.openAppendFile(p, false);
    f.write(bytes(1), 0, 1);
    const done = new Promise<Error | null>((resolve) => f.syncInBackground(resolve));
    f.close();
    expect(await done).toBeNull();
  });

  it("renames over an existing file and syncs a directory", () => {
    const a = join(dir, "r1");
    const b = join(dir, "r2");
    writeFileSync(a, "new");
    writeFileSync(b, "old");
    fs.renameFile(a, b);
    fs.syncDir(dir);
    expect(readFileSync(b, "utf8")).toBe("new");
    expect(fs.fileSize(a)).toBe(-1);
  });

  it("names the file and the OS's error, also one ErrnoName lacks", () => {
    const missing = join(dir, "none", "x");
    expect(() => fs.readFileBytes(missing)).toThrow(`Cannot read "${missing}": ENOENT`);
    expect(() => fs.openAppendFile(missing, false)).toThrow(`Cannot open "${missing}": ENOENT`);
    expect(() => fs.renameFile(missing, join(dir, "y"))).toThrow(`Cannot rename "${missing}" to "${join(dir, "y")}": ENOENT`);
    expect(() => fs.syncDir(missing)).toThrow(`Cannot sync "${missing}": ENOENT`);
    const full = fs.openAppendFile("/dev/full", false);
    let err: unknown;
    try {
      full.write(bytes(1, 2, 3), 0, 3);
    } catch (e) {
      err = e;
    }
    full.close();
    expect((err as Error).message).toBe('Cannot write "/dev/full": ENOSPC');
    expect((err as { code?: unknown }).code).toBe("EIO");
  });
});
