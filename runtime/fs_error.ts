// The error the binary file helpers (fs_node.ts, fs_deno.ts) throw: fileError, keeping the OS's own code in the text.

import { type ErrnoError, fileError } from "./common.ts";

/**
 * `Cannot write "cache.aof": ENOSPC`. ErrnoName has no ENOSPC, EROFS, EDQUOT...: `code` falls
 * back to EIO, but the message keeps what the OS said, since that is what an operator acts on.
 */
export function binaryFileError(e: unknown, action: string, path: string): ErrnoError {
  const err = fileError(e, action, path);
  const raw = typeof e === "object" && e !== null ? (e as { code?: unknown }).code : undefined;
  if (typeof raw === "string" && raw !== err.code && /^E[A-Z0-9]+$/.test(raw)) {
    err.message = `Cannot ${action} "${path}": ${raw}`;
  }
  return err;
}
