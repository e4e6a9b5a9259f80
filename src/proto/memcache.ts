// Memcached ASCII request and reply parsers: resumable byte state machines (nc_memcache.c).
//
// Both parsers start at msg.pidx/msg.ppos, walk the message's mbuf chain, and store their state
// back on the message when the bytes run out (AGAIN). They never look back at earlier bytes, so a
// message may be cut anywhere, one byte per read included. Where nc_memcache.c steps back one
// byte (`p = p - 1`) these re-dispatch the same byte in the next state without advancing, which
// never crosses an mbuf boundary. On OK, pidx/ppos point just past the message (msgSplit cuts
// there). Bad input returns ERROR, which closes the connection; nothing throws.
//
// Requests accept what twemproxy 0.5.0 accepts (checked against the binary), plus gat/gats and
// the meta commands; keys may hold any byte but space and CR, as in twemproxy, except LF and NUL,
// which make memcached end or cut the line inside the key. Request fields on the msg once parsed:
//
//   type      McType REQ_MC_*                     noreply  `noreply` token seen
//   keys      (mbuf index, offset, length) per key quit     the request is `quit`
//   integer   McFlag bits: QUIET (meta `q`), BASE64 (meta `b`)
//
// Replies: msg.type is RSP_MC_*; a get/gets/gat/gats reply (VALUE blocks then END) is one
// message of type RSP_MC_VALUE, or RSP_MC_END when nothing was found. Each VALUE block is
// recorded in msg.keys as (mbuf index, offset of its 'V', length of the block up to and
// including the CRLF after its data), so fragment replies can be merged block by block; the
// closing END\r\n is always the last 5 bytes.

import { type Msg, ParseResult } from "../core/message.ts";
import {
  lookupMcCommand,
  lookupMcReply,
  MC_MAX_NAME,
  MC_MAX_REPLY_TOKEN,
  McFlag,
  mcCommandOf,
  McRspShape,
  McShape,
  McType,
} from "./memcache_commands.ts";

/** Longest key memcached takes (MEMCACHE_MAX_KEY_LENGTH); longer closes the client, as twemproxy. */
export const MEMCACHE_MAX_KEY_LENGTH = 250;
/** Largest data block this parser takes; the caller may set a lower limit. */
export const MEMCACHE_MAX_VLEN = 1024 * 1024 * 1024;

const CR = 13;
const LF = 10;
const SP = 32;
const DEL = 127;
const NUL = 0;
const MINUS = 45; // '-'
const LOWER_B = 98; // 'b'
const LOWER_N = 110; // 'n'
const LOWER_Q = 113; // 'q'

/** "noreply", matched one byte at a time (the token may be cut by a read). */
const NOREPLY = new TextEncoder().encode("noreply");

// Request states: nc_memcache.c's names, plus SW_VAL_CR (we cannot peek vlen bytes ahead) and
// the meta flag states.
const SW_START = 0;
const SW_REQ_TYPE = 1;
const SW_SPACES_BEFORE_KEY = 2;
const SW_KEY = 3;
const SW_SPACES_BEFORE_KEYS = 4;
const SW_SPACES_BEFORE_FLAGS = 5;
const SW_FLAGS = 6;
const SW_SPACES_BEFORE_EXPIRY = 7;
const SW_EXPIRY = 8;
const SW_SPACES_BEFORE_VLEN = 9;
const SW_VLEN = 10;
const SW_SPACES_BEFORE_CAS = 11;
const SW_CAS = 12;
const SW_RUNTO_VAL = 13;
const SW_VAL = 14;
const SW_VAL_CR = 15;
const SW_SPACES_BEFORE_NUM = 16;
const SW_NUM = 17;
const SW_RUNTO_CRLF = 18;
const SW_CRLF = 19;
const SW_NOREPLY = 20;
const SW_AFTER_NOREPLY = 21;
const SW_ALMOST_DONE = 22;
const SW_META_FLAGS = 23; // spaces between meta flag tokens, or the CR
const SW_META_FLAG = 24; // inside one flag token

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** A byte no meta flag token may hold: space, control characters and DEL. */
function isCtl(c: number): boolean {
  return c < SP || c === DEL;
}

/**
 * Parse one request. On OK: msg.type is set, msg.keys holds the key positions, msg.noreply,
 * msg.quit and the McFlag bits of msg.integer are set, and msg.pidx/ppos point past the request.
 * Cost: O(bytes) for command lines, O(1) per mbuf for data blocks; no allocation but keys.push.
 *
 * @example
 * // "get a b\r\n" → OK, msg.type === McType.REQ_MC_GET, msg.keys === [0, 4, 1, 0, 6, 1]
 */
export function memcacheParseReq(msg: Msg): ParseResult {
  const mbufs = msg.mbufs;
  if (mbufs.length === 0) return ParseResult.AGAIN;
  const keys = msg.keys;
  let idx = msg.pidx;
  let p = msg.ppos;
  let state = msg.state;
  let num = msg.num;
  let rlen = msg.rlen;
  let cmd = mcCommandOf(msg.type);
  let shape: McShape = cmd === undefined ? McShape.bare : cmd.shape;

  for (; idx < mbufs.length; idx++, p = 0) {
    const m = mbufs[idx]!;
    const buf = m.buf;
    const lim = m.last;
    while (p < lim) {
      const ch = buf[p]!;
      switch (state) {
        case SW_START:
          // twemproxy skips leading spaces and wants a lowercase command (so does memcached)
          if (ch === SP) {
            p++;
            break;
          }
          if (ch < 97 || ch > 122) return ParseResult.ERROR;
          num = ch - 96;
          msg.nameLen = 1;
          state = SW_REQ_TYPE;
          p++;
          break;

        case SW_REQ_TYPE: {
          if (ch >= 97 && ch <= 122) {
            if (msg.nameLen === MC_MAX_NAME) return ParseResult.ERROR;
            num = num * 32 + (ch - 96);
            msg.nameLen++;
            p++;
            break;
          }
          if (ch !== SP && ch !== CR) return ParseResult.ERROR;
          cmd = lookupMcCommand(num);
          if (cmd === undefined) return ParseResult.ERROR;
          msg.type = cmd.type;
          shape = cmd.shape;
          if (shape === McShape.bare) {
            if (cmd.type === McType.REQ_MC_QUIT) msg.quit = true;
            state = SW_CRLF; // re-read this byte
          } else if (shape === McShape.metanokey) {
            state = SW_META_FLAGS; // re-read this byte
          } else {
            if (ch === CR) return ParseResult.ERROR; // a key (or gat's exptime) must follow
            state = shape === McShape.gat ? SW_SPACES_BEFORE_NUM : SW_SPACES_BEFORE_KEY;
            p++;
          }
          break;
        }

        case SW_SPACES_BEFORE_KEY:
          if (ch === SP) {
            p++;
            break;
          }
          // CR here: an empty key; LF and NUL: see SW_KEY
          if (ch === CR || ch === LF || ch === NUL) return ParseResult.ERROR;
          keys.push(idx, p, 0);
          rlen = 0;
          state = SW_KEY;
          break;

        case SW_KEY: {
          // scan the key in one go, but never past the length limit
          const e = Math.min(lim, p + (MEMCACHE_MAX_KEY_LENGTH + 1 - rlen));
          let i = p;
          let c = 0;
          while (i < e) {
            c = buf[i]!;
            if (c === SP || c === CR) break;
            // twemproxy takes any other byte, control characters too, as memcached does; an LF
            // would end memcached's line inside the key, a NUL cut it (memcached reads it as a C
            // string), either one desynchronising the connection
            if (c === LF || c === NUL) return ParseResult.ERROR;
            i++;
          }
          rlen += i - p;
          p = i;
          if (rlen > MEMCACHE_MAX_KEY_LENGTH) return ParseResult.ERROR;
          if (i === lim) break; // the key goes on in the next mbuf
          keys[keys.length - 1] = rlen;
          // the space or CR that ended the key is re-read by the next state
          switch (shape) {
            case McShape.storage:
            case McShape.cas:
              state = SW_SPACES_BEFORE_FLAGS;
              break;
            case McShape.arith:
              state = SW_SPACES_BEFORE_NUM;
              break;
            case McShape.retrieval:
            case McShape.gat:
              state = SW_SPACES_BEFORE_KEYS;
              break;
            case McShape.delete:
              state = SW_RUNTO_CRLF;
              break;
            case McShape.metaset:
              state = SW_SPACES_BEFORE_VLEN;
              break;
            default:
              state = SW_META_FLAGS;
          }
          break;
        }

        case SW_SPACES_BEFORE_KEYS:
          if (ch === SP) {
            p++;
          } else if (ch === CR) {
            state = SW_ALMOST_DONE;
            p++;
          } else {
            state = SW_SPACES_BEFORE_KEY; // another key: validated there
          }
          break;

        case SW_SPACES_BEFORE_FLAGS:
        case SW_SPACES_BEFORE_EXPIRY:
        case SW_SPACES_BEFORE_VLEN:
        case SW_SPACES_BEFORE_CAS:
          // twemproxy: unsigned digits only (memcached would take a negative exptime)
          if (ch === SP) {
            p++;
            break;
          }
          if (!isDigit(ch)) return ParseResult.ERROR; // CR too: the field is missing
          num = 0;
          state = state + 1; // SW_FLAGS, SW_EXPIRY, SW_VLEN, SW_CAS follow their space states
          break;

        case SW_FLAGS:
        case SW_EXPIRY:
          if (isDigit(ch)) {
            p++;
          } else if (ch === SP) {
            state = state === SW_FLAGS ? SW_SPACES_BEFORE_EXPIRY : SW_SPACES_BEFORE_VLEN;
            p++;
          } else {
            return ParseResult.ERROR;
          }
          break;

        case SW_VLEN:
          if (isDigit(ch)) {
            // a uint32 in twemproxy (and memcached): longer numbers wrap rather than fail
            num = (num * 10 + (ch - 48)) % 4294967296;
            p++;
            break;
          }
          rlen = num;
          if (shape === McShape.cas) {
            if (ch !== SP) return ParseResult.ERROR;
            state = SW_SPACES_BEFORE_CAS;
          } else if (ch === SP || ch === CR) {
            state = shape === McShape.metaset ? SW_META_FLAGS : SW_RUNTO_CRLF;
          } else {
            return ParseResult.ERROR;
          }
          break;

        case SW_CAS:
          if (isDigit(ch)) p++;
          else if (ch === SP || ch === CR) state = SW_RUNTO_CRLF;
          else return ParseResult.ERROR;
          break;

        case SW_SPACES_BEFORE_NUM:
          // incr/decr delta, touch and gat exptime; twemproxy lets a leading '-' through
          if (ch === SP) {
            p++;
            break;
          }
          if (!isDigit(ch) && ch !== MINUS) return ParseResult.ERROR;
          state = SW_NUM;
          p++;
          break;

        case SW_NUM:
          if (isDigit(ch)) p++;
          else if (ch === SP || ch === CR) state = shape === McShape.gat ? SW_SPACES_BEFORE_KEY : SW_RUNTO_CRLF;
          else return ParseResult.ERROR;
          break;

        case SW_RUNTO_CRLF:
          // after the last field: spaces, an optional noreply, CR. Anything else (say the time
          // of `delete <key> <time>`) is an error, as in twemproxy.
          if (ch === SP) {
            p++;
          } else if (ch === LOWER_N && cmd !== undefined && cmd.noreply) {
            num = 1;
            state = SW_NOREPLY;
            p++;
          } else if (ch === CR) {
            state = shape === McShape.storage || shape === McShape.cas ? SW_RUNTO_VAL : SW_ALMOST_DONE;
            p++;
          } else {
            return ParseResult.ERROR;
          }
          break;

        case SW_NOREPLY:
          if (num < NOREPLY.length) {
            if (ch !== NOREPLY[num]) return ParseResult.ERROR;
            num++;
            p++;
          } else if (ch === SP || ch === CR) {
            msg.noreply = true;
            state = SW_AFTER_NOREPLY;
          } else {
            return ParseResult.ERROR;
          }
          break;

        case SW_AFTER_NOREPLY:
          if (ch === SP) {
            p++;
          } else if (ch === CR) {
            state = shape === McShape.storage || shape === McShape.cas ? SW_RUNTO_VAL : SW_ALMOST_DONE;
            p++;
          } else {
            return ParseResult.ERROR;
          }
          break;

        case SW_META_FLAGS:
          if (ch === SP) {
            p++;
            break;
          }
          if (ch === CR) {
            state = shape === McShape.metaset ? SW_RUNTO_VAL : SW_ALMOST_DONE;
            p++;
            break;
          }
          if (isCtl(ch)) return ParseResult.ERROR;
          // memcached reads a flag by its first byte; bad or duplicate flags get a
          // CLIENT_ERROR from memcached, so they are forwarded, not judged here
          if (cmd !== undefined && cmd.quiet && ch === LOWER_Q) {
            msg.integer |= McFlag.QUIET;
            msg.quiet = true;
          }
          else if (ch === LOWER_B && shape !== McShape.metanokey) msg.integer |= McFlag.BASE64;
          state = SW_META_FLAG;
          p++;
          break;

        case SW_META_FLAG: {
          let i = p;
          let c = 0;
          while (i < lim) {
            c = buf[i]!;
            if (c === SP || c === CR) break;
            if (isCtl(c)) return ParseResult.ERROR;
            i++;
          }
          p = i;
          if (i < lim) state = SW_META_FLAGS;
          break;
        }

        case SW_CRLF:
          if (ch === SP) {
            p++;
          } else if (ch === CR) {
            state = SW_ALMOST_DONE;
            p++;
          } else {
            return ParseResult.ERROR;
          }
          break;

        case SW_RUNTO_VAL:
          if (ch !== LF) return ParseResult.ERROR;
          state = rlen === 0 ? SW_VAL_CR : SW_VAL;
          p++;
          break;

        case SW_VAL: {
          const take = Math.min(rlen, lim - p);
          p += take;
          rlen -= take;
          if (rlen === 0) state = SW_VAL_CR;
          break;
        }

        case SW_VAL_CR:
          // the data block is exactly <bytes> long: memcached answers "bad data chunk" otherwise
          if (ch !== CR) return ParseResult.ERROR;
          state = SW_ALMOST_DONE;
          p++;
          break;

        case SW_ALMOST_DONE:
          if (ch !== LF) return ParseResult.ERROR;
          msg.state = SW_START;
          msg.pidx = idx;
          msg.ppos = p + 1;
          return ParseResult.OK;

        default:
          return ParseResult.ERROR;
      }
    }
    if (idx === mbufs.length - 1) break;
  }
  msg.state = state;
  msg.num = num;
  msg.rlen = rlen;
  msg.pidx = idx;
  msg.ppos = p;
  return ParseResult.AGAIN;
}

// Reply states: nc_memcache.c's names, plus SW_VAL_CR and the VA header (VA_* share VALUE's).
const RS_START = 0;
const RS_RSP_NUM = 1;
const RS_RSP_STR = 2;
const RS_SPACES_BEFORE_KEY = 3;
const RS_KEY = 4;
const RS_SPACES_BEFORE_FLAGS = 5;
const RS_FLAGS = 6;
const RS_SPACES_BEFORE_VLEN = 7;
const RS_VLEN = 8;
const RS_RUNTO_VAL = 9;
const RS_VAL = 10;
const RS_VAL_CR = 11;
const RS_VAL_LF = 12;
const RS_RUNTO_CRLF = 13;
const RS_CRLF = 14;
const RS_ALMOST_DONE = 15;

/** Bytes from (sidx, soff) to (eidx, eoff) in an mbuf chain; O(mbufs spanned). */
function spanLength(msg: Msg, sidx: number, soff: number, eidx: number, eoff: number): number {
  if (sidx === eidx) return eoff - soff;
  const mbufs = msg.mbufs;
  let n = mbufs[sidx]!.last - soff;
  for (let i = sidx + 1; i < eidx; i++) n += mbufs[i]!.last;
  return n + eoff;
}

/**
 * Parse one reply. On OK: msg.type is an RSP_MC_* type and, for a retrieval reply, msg.keys
 * holds one (mbuf index, offset, length) triple per VALUE block (see the file header).
 * Cost: O(bytes) for reply lines, O(1) per mbuf for data blocks.
 *
 * @example
 * // "VALUE k 0 1\r\na\r\nEND\r\n" → OK, type RSP_MC_VALUE, keys [0, 0, 16]
 */
export function memcacheParseRsp(msg: Msg): ParseResult {
  const mbufs = msg.mbufs;
  if (mbufs.length === 0) return ParseResult.AGAIN;
  const keys = msg.keys;
  let idx = msg.pidx;
  let p = msg.ppos;
  let state = msg.state;
  let num = msg.num;
  let rlen = msg.rlen;

  for (; idx < mbufs.length; idx++, p = 0) {
    const m = mbufs[idx]!;
    const buf = m.buf;
    const lim = m.last;
    while (p < lim) {
      const ch = buf[p]!;
      switch (state) {
        case RS_START:
          msg.nameLen = 0;
          if (isDigit(ch)) {
            state = RS_RSP_NUM;
            p++;
          } else {
            state = RS_RSP_STR; // re-read this byte as the first of the token
          }
          break;

        case RS_RSP_NUM:
          // incr/decr result (uint64, not kept); memcached may pad it with spaces
          if (isDigit(ch)) {
            p++;
          } else if (ch === SP || ch === CR) {
            msg.type = McType.RSP_MC_NUM;
            state = RS_CRLF;
          } else {
            return ParseResult.ERROR;
          }
          break;

        case RS_RSP_STR: {
          if (ch !== SP && ch !== CR) {
            if (msg.nameLen === MC_MAX_REPLY_TOKEN) return ParseResult.ERROR;
            msg.name[msg.nameLen++] = ch;
            p++;
            break;
          }
          const r = lookupMcReply(msg.name, msg.nameLen);
          if (r === undefined) return ParseResult.ERROR;
          if (msg.type === McType.RSP_MC_VALUE) {
            // after a VALUE block: another one, END, or an error (twemproxy takes any reply
            // here; STORED and the like after VALUE cannot come from memcached)
            if (!r.afterValue) return ParseResult.ERROR;
            if (r.type !== McType.RSP_MC_VALUE) {
              keys.length -= 3; // drop the open triple: no block starts here
              if (r.type !== McType.RSP_MC_END) msg.type = r.type;
            }
          } else {
            msg.type = r.type;
            if (r.type === McType.RSP_MC_VALUE) keys.push(0, msg.start, 0); // the first block
          }
          switch (r.shape) {
            case McRspShape.crlf:
              state = RS_CRLF;
              break;
            case McRspShape.text:
              state = RS_RUNTO_CRLF;
              break;
            case McRspShape.end:
              if (ch !== CR) return ParseResult.ERROR;
              state = RS_ALMOST_DONE;
              p++;
              break;
            case McRspShape.value:
              if (ch !== SP) return ParseResult.ERROR;
              state = RS_SPACES_BEFORE_KEY;
              p++;
              break;
            default: // VA <size> <flags>*
              if (ch !== SP) return ParseResult.ERROR;
              state = RS_SPACES_BEFORE_VLEN;
              p++;
          }
          break;
        }

        case RS_SPACES_BEFORE_KEY:
          if (ch === SP) {
            p++;
          } else {
            rlen = 0;
            state = RS_KEY;
          }
          break;

        case RS_KEY: {
          // the key runs to a space, as in twemproxy; bounded so garbage cannot run on
          const e = Math.min(lim, p + (MEMCACHE_MAX_KEY_LENGTH + 1 - rlen));
          let i = p;
          while (i < e && buf[i] !== SP) i++;
          rlen += i - p;
          p = i;
          if (rlen > MEMCACHE_MAX_KEY_LENGTH) return ParseResult.ERROR;
          if (i < lim) state = RS_SPACES_BEFORE_FLAGS;
          break;
        }

        case RS_SPACES_BEFORE_FLAGS:
        case RS_SPACES_BEFORE_VLEN:
          if (ch === SP) {
            p++;
            break;
          }
          if (!isDigit(ch)) return ParseResult.ERROR;
          num = 0;
          state = state + 1; // RS_FLAGS, RS_VLEN
          break;

        case RS_FLAGS:
          if (isDigit(ch)) {
            p++;
          } else if (ch === SP) {
            state = RS_SPACES_BEFORE_VLEN;
            p++;
          } else {
            return ParseResult.ERROR;
          }
          break;

        case RS_VLEN:
          if (isDigit(ch)) {
            num = (num * 10 + (ch - 48)) % 4294967296;
            p++;
          } else if (ch === SP || ch === CR) {
            rlen = num;
            state = RS_RUNTO_CRLF; // the cas of gets, or the VA flags
          } else {
            return ParseResult.ERROR;
          }
          break;

        case RS_RUNTO_CRLF: {
          let i = p;
          while (i < lim && buf[i] !== CR) i++;
          p = i;
          if (i < lim) {
            const t = msg.type;
            // a VALUE/VA header is followed by its data; (an error after VALUE blocks changed type)
            state = t === McType.RSP_MC_VALUE || t === McType.RSP_MC_VA ? RS_RUNTO_VAL : RS_ALMOST_DONE;
            p++;
          }
          break;
        }

        case RS_RUNTO_VAL:
          if (ch !== LF) return ParseResult.ERROR;
          state = rlen === 0 ? RS_VAL_CR : RS_VAL;
          p++;
          break;

        case RS_VAL: {
          const take = Math.min(rlen, lim - p);
          p += take;
          rlen -= take;
          if (rlen === 0) state = RS_VAL_CR;
          break;
        }

        case RS_VAL_CR:
          if (ch !== CR) return ParseResult.ERROR;
          state = RS_VAL_LF;
          p++;
          break;

        case RS_VAL_LF: {
          if (ch !== LF) return ParseResult.ERROR;
          p++;
          if (msg.type === McType.RSP_MC_VA) return finish(msg, idx, p);
          // close this VALUE block, and open the next line's triple at the byte after it
          const k = keys.length;
          keys[k - 1] = spanLength(msg, keys[k - 3]!, keys[k - 2]!, idx, p);
          if (p === buf.length) keys.push(idx + 1, 0, 0); // the next byte lands in a new mbuf
          else keys.push(idx, p, 0);
          msg.nameLen = 0;
          state = RS_RSP_STR;
          break;
        }

        case RS_CRLF:
          if (ch === SP) {
            p++;
          } else if (ch === CR) {
            state = RS_ALMOST_DONE;
            p++;
          } else {
            return ParseResult.ERROR;
          }
          break;

        case RS_ALMOST_DONE:
          if (ch !== LF) return ParseResult.ERROR;
          return finish(msg, idx, p + 1);

        default:
          return ParseResult.ERROR;
      }
    }
    if (idx === mbufs.length - 1) break;
  }
  msg.state = state;
  msg.num = num;
  msg.rlen = rlen;
  msg.pidx = idx;
  msg.ppos = p;
  return ParseResult.AGAIN;
}

function finish(msg: Msg, idx: number, p: number): ParseResult {
  msg.state = RS_START;
  msg.pidx = idx;
  msg.ppos = p;
  return ParseResult.OK;
}
