// RESP request and reply parsers for redis pools: resumable byte state machines (nc_redis.c).
//
// Both parsers start at msg.pidx/msg.ppos, walk the message's mbuf chain, and store their state
// back on the message when the bytes run out (AGAIN). They never look back at earlier bytes, so a
// message may be cut anywhere, one byte per read included. On OK, pidx/ppos point just past the
// message (msgSplit cuts there). Bad input returns ERROR; nothing throws.
//
// Requests are multi-bulk (`*N\r\n$len\r\narg\r\n...`), as in twemproxy; with error_replies (the
// default) inline ones too (redis_inline.ts), which twemproxy closes on. Keys are recorded as
// (mbuf index, offset, length) and may span mbufs, so a
// key longer than an mbuf works here (twemproxy closes such a connection).

import { type Msg, type MsgOwner, ParseResult } from "../core/message.ts";
import { parseAgain, parseDone } from "./parse.ts";
import { CmdShape, lookupCommand, REDIS_COMMANDS, type RedisCommand } from "./redis_commands.ts";
import { redisParseInline, SW_INLINE } from "./redis_inline.ts";
import { ReqError } from "./types.ts";

// Request states, named after nc_redis.c's where they match.
const SW_START = 0; // 0: where parseDone starts over
const SW_NARG = 1;
const SW_NARG_LF = 2;
const SW_ARG_LEN_START = 3; // expect '$'
const SW_ARG_LEN = 4; // digits until CR
const SW_ARG_LEN_LF = 5;
const SW_ARG = 6; // rlen data bytes
const SW_ARG_CR = 7;
const SW_ARG_LF = 8;

const CR = 13;
const LF = 10;
const STAR = 42; // '*'
const DOLLAR = 36; // '$'
const MINUS = 45; // '-'
const PLUS = 43; // '+'
const COLON = 58; // ':'

/** Largest bulk string redis accepts (proto-max-bulk-len default), and our cap on counts. */
const MAX_BULK = 512 * 1024 * 1024;
const MAX_NARG = 1024 * 1024 * 1024;

/** The command of a parsed request (msg.type is its table index + 1). */
export function requestCommand(msg: Msg): RedisCommand | null {
  return msg.type > 0 ? (REDIS_COMMANDS[msg.type - 1] ?? null) : null;
}

/** Which argument positions (1-based after the command name) are keys, per command shape. */
export function isKeyArg(msg: Msg, shape: CmdShape, i: number): boolean {
  switch (shape) {
    case CmdShape.arg0:
    case CmdShape.arg1:
    case CmdShape.arg2:
    case CmdShape.arg3:
    case CmdShape.argn:
      return i === 1;
    case CmdShape.argx:
    case CmdShape.argv:
      return true;
    case CmdShape.argkvx:
      return (i & 1) === 1;
    case CmdShape.argeval:
      // script, numkeys, then numkeys keys; msg.integer holds numkeys once arg 2 is parsed
      return i >= 3 && i < 3 + msg.integer;
    default:
      return false;
  }
}

/** Whether argument counts fit the shape; `narg` counts the command name too (nc_redis.c checks). */
export function arityOk(msg: Msg, shape: CmdShape): boolean {
  const n = msg.narg;
  switch (shape) {
    case CmdShape.argz:
      return n === 1;
    case CmdShape.arg0:
      return n === 2;
    case CmdShape.arg1:
      return n === 3;
    case CmdShape.arg2:
      return n === 4;
    case CmdShape.arg3:
      return n === 5;
    case CmdShape.argn:
    case CmdShape.argx:
      return n >= 2;
    case CmdShape.argkvx:
      return n >= 3 && (n & 1) === 1;
    case CmdShape.argeval:
      // 0.5.0 wants numkeys >= 1 and one key present; redis itself judges numkeys past the args
      return n >= 4 && msg.integer >= 1;
    default:
      return true;
  }
}

/**
 * Parse one request. On OK: msg.type is set, msg.keys holds the key positions, and
 * msg.pidx/ppos point past the request.
 * Cost: O(bytes) for headers, O(1) per mbuf for bulk payloads.
 */
export function redisParseReq(msg: Msg): ParseResult {
  const mbufs = msg.mbufs;
  if (mbufs.length === 0) return ParseResult.AGAIN;
  if (msg.state >= SW_INLINE) return redisParseInline(msg);
  let idx = msg.pidx;
  let p = msg.ppos;
  let state = msg.state;
  let num = msg.num;
  let rlen = msg.rlen;
  // only a supported command with its arguments still in order has a shape that matters
  let shape: CmdShape = msg.type > 0 && msg.reqError === ReqError.NONE ? REDIS_COMMANDS[msg.type - 1]!.arity : CmdShape.nokey;

  for (; idx < mbufs.length; idx++, p = 0) {
    const m = mbufs[idx]!;
    const buf = m.buf;
    const lim = m.last;
    while (p < lim) {
      const ch = buf[p]!;
      switch (state) {
        case SW_START:
          if (ch !== STAR) {
            // an empty line, which redis skips (redis-cli --pipe sends one before its closing
            // ECHO): skipped too unless the pool keeps 0.5.0's closes
            if ((msg.owner as MsgOwner | null)?.lenient !== true) return ParseResult.ERROR;
            if (ch === CR || ch === LF) {
              p++;
              break;
            }
            // an inline request (redis_inline.ts)
            msg.pidx = idx;
            msg.ppos = p;
            msg.state = SW_INLINE;
            msg.num = msg.rlen = 0;
            return redisParseInline(msg);
          }
          num = 0;
          state = SW_NARG;
          p++;
          break;

        case SW_NARG:
          if (ch >= 48 && ch <= 57) {
            num = num * 10 + (ch - 48);
            if (num > MAX_NARG) return ParseResult.ERROR;
          } else if (ch === CR) {
            if (num === 0) return ParseResult.ERROR;
            msg.narg = msg.rnarg = num;
            state = SW_NARG_LF;
          } else {
            return ParseResult.ERROR;
          }
          p++;
          break;

        case SW_NARG_LF:
        case SW_ARG_LEN_LF:
          if (ch !== LF) return ParseResult.ERROR;
          p++;
          if (state === SW_NARG_LF) {
            msg.argi = 0;
            state = SW_ARG_LEN_START;
          } else {
            // a bulk payload starts here: note it if it is a key
            if (msg.argi > 0 && msg.reqError === ReqError.NONE && isKeyArg(msg, shape, msg.argi)) {
              msg.keys.push(idx, p, rlen);
            }
            if (msg.argi === 0) msg.nameLen = 0;
            num = 0;
            state = rlen === 0 ? SW_ARG_CR : SW_ARG;
          }
          break;

        case SW_ARG_LEN_START:
          if (ch !== DOLLAR) return ParseResult.ERROR;
          rlen = 0;
          state = SW_ARG_LEN;
          p++;
          break;

        case SW_ARG_LEN:
          if (ch >= 48 && ch <= 57) {
            rlen = rlen * 10 + (ch - 48);
            if (rlen > MAX_BULK) return ParseResult.ERROR;
          } else if (ch === CR) {
            state = SW_ARG_LEN_LF;
          } else {
            return ParseResult.ERROR;
          }
          p++;
          break;

        case SW_ARG: {
          const take = Math.min(rlen, lim - p);
          if (msg.argi === 0) {
            // command name: keep it upper-cased for the table lookup
            const name = msg.name;
            let n = msg.nameLen;
            // a name longer than any command is unsupported; keep its head for the error reply
            for (let i = p, e = Math.min(p + take, p + name.length - n); i < e; i++) {
              const c = buf[i]!;
              name[n++] = c >= 97 && c <= 122 ? c - 32 : c;
            }
            if (take > name.length - msg.nameLen) msg.reqError = ReqError.UNSUPPORTED;
            msg.nameLen = n;
          } else if (shape === CmdShape.argeval && msg.argi === 2 && msg.reqError === ReqError.NONE) {
            // numkeys: digits only, as redis requires
            for (let i = p, e = p + take; i < e; i++) {
              const c = buf[i]!;
              if (c < 48 || c > 57) return ParseResult.ERROR;
              num = num * 10 + (c - 48);
              if (num > MAX_NARG) return ParseResult.ERROR;
            }
          }
          p += take;
          rlen -= take;
          if (rlen === 0) state = SW_ARG_CR;
          break;
        }

        case SW_ARG_CR:
          if (ch !== CR) return ParseResult.ERROR;
          state = SW_ARG_LF;
          p++;
          break;

        case SW_ARG_LF: {
          if (ch !== LF) return ParseResult.ERROR;
          p++;
          if (msg.argi === 0) {
            const type = msg.reqError === ReqError.NONE ? lookupCommand(msg.name, msg.nameLen) : 0;
            // a known name counts as itself in the per-command stats, supported or not
            msg.type = type;
            const cmd = type === 0 ? null : REDIS_COMMANDS[type - 1]!;
            // a command of ours is unknown to a pool that keeps 0.5.0's answers (error_replies: false)
            if (cmd === null || !cmd.supported || (cmd.ours && (msg.owner as MsgOwner | null)?.lenient !== true)) {
              // twemproxy closes here; req_filter decides, once the whole request is read
              msg.reqError = ReqError.UNSUPPORTED;
              shape = CmdShape.nokey;
            } else {
              shape = cmd.arity;
              // the argument count is known from `*N`: judge it now, as twemproxy does
              if (shape !== CmdShape.argeval && !arityOk(msg, shape)) msg.reqError = ReqError.ARITY;
              else if (shape === CmdShape.argeval && msg.narg < 4) msg.reqError = ReqError.ARITY;
            }
            if (msg.reqError !== ReqError.NONE) {
              if ((msg.owner as MsgOwner | null)?.lenient !== true) return ParseResult.ERROR;
              shape = CmdShape.nokey;
            }
          } else if (shape === CmdShape.argeval && msg.argi === 2 && msg.reqError === ReqError.NONE) {
            msg.integer = num;
          }
          msg.argi++;
          if (--msg.rnarg === 0) {
            if (msg.reqError === ReqError.NONE && !arityOk(msg, shape)) {
              msg.reqError = ReqError.ARITY;
              msg.keys.length = 0;
            }
            return parseDone(msg, idx, p);
          }
          state = SW_ARG_LEN_START;
          break;
        }

        default:
          return ParseResult.ERROR;
      }
    }
    if (idx === mbufs.length - 1) break;
  }
  return parseAgain(msg, state, num, rlen, idx, p);
}

// Reply states.
const RS_START = 0; // type byte; 0: where parseDone starts over
const RS_LINE = 1; // simple string / error: until CR
const RS_INT = 2; // integer digits until CR
const RS_BULK_LEN = 3;
const RS_MULTI_LEN = 4;
const RS_BULK = 5; // rlen data bytes
const RS_CR = 6; // expect CR after a bulk payload
const RS_LF = 7; // expect LF, then the element is complete
const RS_LEN_LF = 8; // LF after a bulk length: payload (or nil) follows

/**
 * Reply types (msg.type of a response), after twemproxy's MSG_RSP_REDIS_*, then RESP3's, which
 * a server sends only on a connection that said `HELLO 3` (the proxy's RESP3 rotation).
 */
export const RspType = {
  STATUS: 1,
  ERROR: 2,
  INTEGER: 3,
  BULK: 4,
  MULTIBULK: 5,
  /** `_` */
  NULL: 6,
  /** `#t` / `#f` */
  BOOLEAN: 7,
  /** `,1.5` */
  DOUBLE: 8,
  /** `(` big number */
  BIGNUM: 9,
  /** `!len` blob error */
  BLOB_ERROR: 10,
  /** `=len` verbatim string (`txt:` ...) */
  VERBATIM: 11,
  /** `%N`: N key-value pairs */
  MAP: 12,
  /** `~N` */
  SET: 13,
  /** `>N`: out-of-band data (pub/sub, invalidations) */
  PUSH: 14,
} as const;

// RESP3 type bytes
const UNDERSCORE = 95; // '_'
const HASH = 35; // '#'
const COMMA = 44; // ','
const LPAREN = 40; // '('
const BANG = 33; // '!'
const EQUALS = 61; // '='
const PERCENT = 37; // '%'
const TILDE = 126; // '~'
const GT = 62; // '>'
const PIPE = 124; // '|'


/**
 * Parse one reply of any nesting depth, RESP2 or RESP3. On OK: msg.type is the top-level
 * RspType (0 for a reply that starts with an attribute, which redis sends only on request), msg.integer the value of an
 * integer reply or the element count of an aggregate's header.
 */
export function redisParseRsp(msg: Msg): ParseResult {
  const mbufs = msg.mbufs;
  if (mbufs.length === 0) return ParseResult.AGAIN;
  const stack = msg.stack;
  let idx = msg.pidx;
  let p = msg.ppos;
  let state = msg.state;
  let num = msg.num;
  let neg = msg.neg;
  let rlen = msg.rlen;

  for (; idx < mbufs.length; idx++, p = 0) {
    const m = mbufs[idx]!;
    const buf = m.buf;
    const lim = m.last;
    while (p < lim) {
      const ch = buf[p]!;
      switch (state) {
        case RS_START: {
          const top = stack.length === 0;
          num = 0;
          neg = false;
          if (ch === PLUS || ch === MINUS) {
            if (top) msg.type = ch === PLUS ? RspType.STATUS : RspType.ERROR;
            state = RS_LINE;
          } else if (ch === COLON) {
            if (top) msg.type = RspType.INTEGER;
            state = RS_INT;
          } else if (ch === DOLLAR) {
            if (top) msg.type = RspType.BULK;
            state = RS_BULK_LEN;
          } else if (ch === STAR) {
            if (top) msg.type = RspType.MULTIBULK;
            state = RS_MULTI_LEN;
            rlen = 1;
          } else if (ch === UNDERSCORE || ch === HASH || ch === COMMA || ch === LPAREN) {
            if (top) msg.type = ch === UNDERSCORE ? RspType.NULL : ch === HASH ? RspType.BOOLEAN : ch === COMMA ? RspType.DOUBLE : RspType.BIGNUM;
            state = RS_LINE;
          } else if (ch === BANG || ch === EQUALS) {
            if (top) msg.type = ch === BANG ? RspType.BLOB_ERROR : RspType.VERBATIM;
            state = RS_BULK_LEN;
          } else if (ch === PERCENT || ch === TILDE || ch === GT || ch === PIPE) {
            if (top) msg.type = ch === PERCENT ? RspType.MAP : ch === TILDE ? RspType.SET : ch === GT ? RspType.PUSH : 0;
            state = RS_MULTI_LEN;
            // elements per count: a map's pairs are two; an attribute's pairs are followed by the
            // value it annotates, which with them makes the one element the parent counts
            rlen = ch === PERCENT ? 2 : ch === PIPE ? -3 : 1;
          } else {
            return ParseResult.ERROR;
          }
          p++;
          break;
        }

        case RS_LINE: {
          // scan to CR in one go
          let i = p;
          while (i < lim && buf[i] !== CR) i++;
          p = i;
          if (i < lim) {
            state = RS_LF;
            p++;
          }
          break;
        }

        case RS_INT:
        case RS_BULK_LEN:
        case RS_MULTI_LEN:
          if (ch >= 48 && ch <= 57) {
            // integers are 64-bit; only lengths and counts need a bound
            num = num * 10 + (ch - 48);
            if (state !== RS_INT && num > MAX_BULK) return ParseResult.ERROR;
          } else if (ch === MINUS && num === 0 && !neg) {
            neg = true;
          } else if (ch === CR) {
            const v = neg ? -num : num;
            if (stack.length === 0 && state !== RS_BULK_LEN) msg.integer = v;
            if (state === RS_INT) {
              state = RS_LF;
            } else if (state === RS_BULK_LEN) {
              if (v < -1 || v > MAX_BULK) return ParseResult.ERROR;
              rlen = v;
              state = RS_LEN_LF;
            } else {
              if (v < -1) return ParseResult.ERROR;
              // an aggregate's element count: pairs count twice, an attribute adds its value
              const count = rlen === -3 ? 2 * v + 1 : rlen * v;
              // an empty or nil array is a complete element; otherwise its elements follow
              if (count > 0) {
                stack.push(count);
                state = RS_LEN_LF;
                rlen = -2; // marks "array header" for RS_LEN_LF
              } else {
                state = RS_LF;
              }
            }
          } else {
            return ParseResult.ERROR;
          }
          p++;
          break;

        case RS_LEN_LF:
          if (ch !== LF) return ParseResult.ERROR;
          p++;
          if (rlen === -2) {
            state = RS_START; // first element of the array
          } else if (rlen === -1) {
            if (elementDone(stack)) return parseDone(msg, idx, p);
            state = RS_START;
          } else {
            state = rlen === 0 ? RS_CR : RS_BULK;
          }
          break;

        case RS_BULK: {
          const take = Math.min(rlen, lim - p);
          p += take;
          rlen -= take;
          if (rlen === 0) state = RS_CR;
          break;
        }

        case RS_CR:
          if (ch !== CR) return ParseResult.ERROR;
          state = RS_LF;
          p++;
          break;

        case RS_LF:
          if (ch !== LF) return ParseResult.ERROR;
          p++;
          if (elementDone(stack)) return parseDone(msg, idx, p);
          state = RS_START;
          break;

        default:
          return ParseResult.ERROR;
      }
    }
    if (idx === mbufs.length - 1) break;
  }
  msg.neg = neg;
  return parseAgain(msg, state, num, rlen, idx, p);
}

/** An element ended: count it against the enclosing arrays; true when the whole reply is done. */
function elementDone(stack: number[]): boolean {
  while (stack.length > 0) {
    const top = stack.length - 1;
    const left = stack[top]! - 1;
    if (left > 0) {
      stack[top] = left;
      return false;
    }
    stack.pop();
  }
  return true;
}
