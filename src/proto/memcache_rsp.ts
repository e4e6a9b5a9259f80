// Memcached ASCII reply parser: a resumable byte state machine (nc_memcache.c memcache_parse_rsp).
//
// Resumable as the request parser is (memcache_req.ts): it starts at msg.pidx/msg.ppos, stores its
// state on the message when the bytes run out, never looks back, and returns ERROR on bad input.
//
// msg.type is RSP_MC_*; a get/gets/gat/gats reply (VALUE blocks then END) is one message of type
// RSP_MC_VALUE, or RSP_MC_END when nothing was found. Each VALUE block is recorded in msg.keys as
// (mbuf index, offset of its 'V', length of the block up to and including the CRLF after its
// data), so fragment replies can be merged block by block; the closing END\r\n is always the
// last 5 bytes.

import { type Msg, ParseResult } from "../core/message.ts";
import { lookupMcReply, MC_MAX_REPLY_TOKEN, McRspShape, McType, MEMCACHE_MAX_KEY_LENGTH } from "./memcache_commands.ts";
import { msgSpan, parseAgain, parseDone } from "./parse.ts";

const CR = 13;
const LF = 10;
const SP = 32;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

// Reply states: nc_memcache.c's names, plus SW_VAL_CR and the VA header (VA_* share VALUE's).
const RS_START = 0; // 0: where parseDone starts over
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
          if (msg.type === McType.RSP_MC_VA) return parseDone(msg, idx, p);
          // close this VALUE block, and open the next line's triple at the byte after it
          const k = keys.length;
          keys[k - 1] = msgSpan(msg, keys[k - 3]!, keys[k - 2]!, idx, p);
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
          return parseDone(msg, idx, p + 1);

        default:
          return ParseResult.ERROR;
      }
    }
    if (idx === mbufs.length - 1) break;
  }
  return parseAgain(msg, state, num, rlen, idx, p);
}
