// Memcached ASCII request parser: a resumable byte state machine (nc_memcache.c memcache_parse_req).
//
// It starts at msg.pidx/msg.ppos, walks the message's mbuf chain, and stores its state back on the
// message when the bytes run out (AGAIN). It never looks back at earlier bytes, so a request may be
// cut anywhere, one byte per read included. Where nc_memcache.c steps back one byte (`p = p - 1`)
// this re-dispatches the same byte in the next state without advancing, which never crosses an
// mbuf boundary. On OK, pidx/ppos point just past the request (msgSplit cuts there). Bad input
// returns ERROR, which closes the connection; nothing throws.
//
// It accepts what twemproxy 0.5.0 accepts (checked against the binary), plus gat/gats and the
// meta commands; keys may hold any byte but space and CR, as in twemproxy, except LF and NUL,
// which make memcached end or cut the line inside the key. The command's row (MC_COMMANDS) gives
// the line's shape, whether `noreply` and the meta `q` flag count, and whether it is quit.
// Request fields on the msg once parsed:
//
//   type      McType REQ_MC_*                     noreply  `noreply` token seen
//   keys      (mbuf index, offset, length) per key quit     the request is `quit`
//   integer   McFlag bits: QUIET (meta `q`), BASE64 (meta `b`)

import { type Msg, ParseResult } from "../core/message.ts";
import { lookupMcCommand, MC_MAX_NAME, McFlag, McLocal, mcCommandOf, McShape, MEMCACHE_MAX_KEY_LENGTH } from "./memcache_commands.ts";
import { parseAgain, parseDone } from "./parse.ts";

const CR = 13;
const LF = 10;
const SP = 32;
const DEL = 127;
const NUL = 0;
const MINUS = 45; // '-'
const LOWER_B = 98; // 'b'
const LOWER_N = 110; // 'n'
const LOWER_Q = 113; // 'q'

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** "noreply", matched one byte at a time (the token may be cut by a read). */
const NOREPLY = new TextEncoder().encode("noreply");

// Request states: nc_memcache.c's names, plus SW_VAL_CR (we cannot peek vlen bytes ahead) and
// the meta flag states.
const SW_START = 0; // 0: where parseDone starts over
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
            if (cmd.local === McLocal.quit) msg.quit = true;
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
          return parseDone(msg, idx, p + 1);

        default:
          return ParseResult.ERROR;
      }
    }
    if (idx === mbufs.length - 1) break;
  }
  return parseAgain(msg, state, num, rlen, idx, p);
}
