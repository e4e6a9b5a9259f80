// Binary file I/O for the cache's append-only log on Deno's synchronous file API.
//
// Deno quirks met here (2.9): OpenOptions refuses `append` together with `truncate` (Rust's
// rule), so a truncated file is opened for plain writing, which is sequential from 0 anyway;
// a directory opens read-only like a file, and syncSync() on it is fsync(2).

import { binaryFileError as fileError } from "./fs_error.ts";
import type { AppendFile, Runtime } from "./types.ts";

// The part of lib.deno this file uses, so that it type-checks without Deno's own types.
interface DenoFsFile {
  writeSync(p: Uint8Array): number;
  syncDataSync(): void;
  syncData(): Promise<void>;
  syncSync(): void;
  truncateSync(len?: number): void;
  close(): void;
}
interface DenoOpenOptions {
  read?: boolean;
  write?: boolean;
  append?: boolean;
  truncate?: boolean;
  create?: boolean;
  mode?: number;
}
declare const Deno: {
  openSync(path: string, o?: DenoOpenOptions): DenoFsFile;
  readFileSync(path: string): Uint8Array;
  statSync(path: string): { readonly size: number };
  renameSync(from: string, to: string): void;
};

class DenoAppendFile implements AppendFile {
  private file: DenoFsFile | null;
  private readonly path: string;
  /** Background syncs in flight: the file must outlive them. */
  private syncing = 0;
  private closeWanted = false;

  constructor(path: string, truncate: boolean) {
    this.path = path;
    const o: DenoOpenOptions = truncate
      ? { write: true, create: true, truncate: true, mode: 0o644 }
      : { append: true, create: true, mode: 0o644 };
    try {
      this.file = Deno.openSync(path, o);
    } catch (e) {
      throw fileError(e, "open", path);
    }
  }

  write(bytes: Uint8Array, start: number, end: number): void {
    const f = this.file;
    if (f === null) throw fileError({ code: "EBADF" }, "write", this.path);
    try {
      while (start < end) start += f.writeSync(bytes.subarray(start, end));
    } catch (e) {
      throw fileError(e, "write", this.path);
    }
  }

  sync(): void {
    const f = this.file;
    if (f === null) throw fileError({ code: "EBADF" }, "sync", this.path);
    try {
      f.syncDataSync();
    } catch (e) {
      throw fileError(e, "sync", this.path);
    }
  }

  syncInBackground(done: (err: Error | null) => void): void {
    const f = this.file;
    if (f === null) throw fileError({ code: "EBADF" }, "sync", this.path);
    this.syncing++;
    const finish = (e: unknown): void => {
      this.syncing--;
      if (this.closeWanted && this.syncing === 0) this.close();
      done(e === null ? null : fileError(e, "sync", this.path));
    };
    f.syncData().then(() => finish(null), finish);
  }

  close(): void {
    if (this.syncing > 0) {
      this.closeWanted = true;
      return;
    }
    const f = this.file;
    this.file = null;
    if (f === null) return;
    try {
      f.close();
    } catch {
      // already closed
    }
  }
}

/** Open `path` with `o`, run `fn` on it, close it; errors name `action` and `path`. */
function withFile(path: string, o: DenoOpenOptions, action: string, fn: (f: DenoFsFile) => void): void {
  let f: DenoFsFile | null = null;
  try {
    f = Deno.openSync(path, o);
    fn(f);
  } catch (e) {
    throw fileError(e, action, path);
  } finally {
    if (f !== null) f.close();
  }
}

/** The Runtime's binary file half, for Deno. */
export function denoBinaryFiles(): Pick<
  Runtime,
  "readFileBytes" | "fileSize" | "openAppendFile" | "renameFile" | "truncateFile" | "syncDir"
> {
  return {
    readFileBytes(path: string): Uint8Array {
      try {
        return Deno.readFileSync(path);
      } catch (e) {
        throw fileError(e, "read", path);
      }
    },
    fileSize(path: string): number {
      try {
        return Deno.statSync(path).size;
      } catch (e) {
        if ((e as { name?: unknown }).name === "NotFound") return -1;
        throw fileError(e, "stat", path);
      }
    },
    openAppendFile: (path: string, truncate: boolean) => new DenoAppendFile(path, truncate),
    renameFile(from: string, to: string): void {
      try {
        Deno.renameSync(from, to);
      } catch (e) {
        throw fileError(e, "rename", `${from}" to "${to}`);
      }
    },
    truncateFile(path: string, size: number): void {
      withFile(path, { read: true, write: true }, "truncate", (f) => {
        f.truncateSync(size);
        f.syncSync();
      });
    },
    syncDir(path: string): void {
      withFile(path, { read: true }, "sync", (f) => f.syncSync());
    },
  };
}
