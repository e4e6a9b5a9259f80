// Binary file I/O for the cache's append-only log on node:fs, which Node and Bun both provide.
//
// Everything is synchronous on purpose: the log is written between a batch's requests and its
// replies, and `sync always` must hold the replies until fdatasync returns. Bun implements the
// same node:fs calls natively (fdatasyncSync, ftruncateSync...), so one file serves both.

import {
  closeSync,
  constants,
  fdatasync,
  fdatasyncSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from "node:fs";
import { binaryFileError as fileError } from "./fs_error.ts";
import type { AppendFile, Runtime } from "./types.ts";

class NodeAppendFile implements AppendFile {
  private fd: number;
  private readonly path: string;
  /** Background syncs in flight: the fd must outlive them (a reused fd number would get them). */
  private syncing = 0;
  private closeWanted = false;

  constructor(path: string, truncate: boolean) {
    this.path = path;
    try {
      // O_APPEND: every write lands at the end, wherever the file offset is
      const { O_APPEND, O_CREAT, O_TRUNC, O_WRONLY } = constants;
      this.fd = openSync(path, O_WRONLY | O_CREAT | O_APPEND | (truncate ? O_TRUNC : 0), 0o644);
    } catch (e) {
      throw fileError(e, "open", path);
    }
  }

  write(bytes: Uint8Array, start: number, end: number): void {
    try {
      while (start < end) start += writeSync(this.fd, bytes, start, end - start);
    } catch (e) {
      throw fileError(e, "write", this.path);
    }
  }

  sync(): void {
    try {
      fdatasyncSync(this.fd);
    } catch (e) {
      throw fileError(e, "sync", this.path);
    }
  }

  syncInBackground(done: (err: Error | null) => void): void {
    this.syncing++;
    fdatasync(this.fd, (e) => {
      this.syncing--;
      if (this.closeWanted && this.syncing === 0) this.close();
      done(e === null ? null : fileError(e, "sync", this.path));
    });
  }

  close(): void {
    if (this.fd < 0) return;
    if (this.syncing > 0) {
      this.closeWanted = true;
      return;
    }
    const fd = this.fd;
    this.fd = -1;
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
}

/** The Runtime's binary file half, for Node and Bun. */
export type BinaryFiles = Pick<
  Runtime,
  "readFileBytes" | "fileSize" | "openAppendFile" | "renameFile" | "truncateFile" | "syncDir"
>;

export function nodeBinaryFiles(): BinaryFiles {
  return {
    readFileBytes(path: string): Uint8Array {
      try {
        const b = readFileSync(path);
        return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      } catch (e) {
        throw fileError(e, "read", path);
      }
    },
    fileSize(path: string): number {
      try {
        return statSync(path).size;
      } catch (e) {
        if ((e as { code?: unknown }).code === "ENOENT") return -1;
        throw fileError(e, "stat", path);
      }
    },
    openAppendFile: (path: string, truncate: boolean) => new NodeAppendFile(path, truncate),
    renameFile(from: string, to: string): void {
      try {
        renameSync(from, to);
      } catch (e) {
        throw fileError(e, "rename", `${from}" to "${to}`);
      }
    },
    truncateFile(path: string, size: number): void {
      let fd = -1;
      try {
        fd = openSync(path, "r+");
        ftruncateSync(fd, size);
        fsyncSync(fd);
      } catch (e) {
        throw fileError(e, "truncate", path);
      } finally {
        if (fd >= 0) closeSync(fd);
      }
    },
    syncDir(path: string): void {
      let fd = -1;
      try {
        fd = openSync(path, "r");
        fsyncSync(fd);
      } catch (e) {
        throw fileError(e, "sync", path);
      } finally {
        if (fd >= 0) closeSync(fd);
      }
    },
  };
}
