// Every fixed reply text of the cache server, memcached 1.6.18's exact bytes: the lines, and the status codes meta lines start with.
//
// Grouped by who sends them; the comment after a line says when, where that is not obvious.
// Replies built at run time (VALUE lines, numbers, `stats`, `me`) write these pieces or their
// own table (stats.ts).

import { ascii } from "./output.ts";

/** memcached's KEY_MAX_LENGTH. */
export const KEY_MAX_LENGTH = 250;

// the classic commands (proto_text.c)
export const R_ERROR = ascii("ERROR\r\n"); // unknown command, wrong token count
export const R_BAD_FORMAT = ascii("CLIENT_ERROR bad command line format\r\n"); // a key over 250 bytes, a malformed number
export const R_STORED = ascii("STORED\r\n");
export const R_EXISTS = ascii("EXISTS\r\n");
export const R_NOT_FOUND = ascii("NOT_FOUND\r\n");
export const R_NOT_STORED = ascii("NOT_STORED\r\n");
export const R_OK = ascii("OK\r\n");
export const R_NON_NUMERIC = ascii("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
export const R_INVALID_EXPTIME = ascii("CLIENT_ERROR invalid exptime argument\r\n");
export const R_INVALID_DELTA = ascii("CLIENT_ERROR invalid numeric delta argument\r\n");
export const R_DELETE_USAGE = ascii("CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
export const R_DELETED = ascii("DELETED\r\n");
export const R_TOUCHED = ascii("TOUCHED\r\n");
export const R_END = ascii("END\r\n");
/** The start of a get hit's line: "VALUE key flags bytes [cas]\r\n". */
export const R_VALUE = ascii("VALUE ");
/** The start of the version line; the text after it is the server's. */
export const R_VERSION = ascii("VERSION ");
export const R_RESET = ascii("RESET\r\n"); // stats reset
export const R_DETAIL_USAGE = ascii("CLIENT_ERROR usage: stats detail on|off|dump\r\n");
export const R_SHUTDOWN = ascii("ERROR: shutdown not enabled\r\n"); // memcached without -A
export const R_MEMLIMIT_SMALL = ascii("MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n");
export const R_MEMLIMIT_UNITS = ascii("MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n");
export const R_OUT_OF_MEMORY = ascii("SERVER_ERROR out of memory\r\n"); // an incr/decr result that grew finds no memory

// the end of a data block (complete_nread_ascii) and a refused one
export const R_TOO_LARGE = ascii("SERVER_ERROR object too large for cache\r\n");
export const R_NO_MEMORY = ascii("SERVER_ERROR out of memory storing object\r\n");
export const R_BAD_CHUNK = ascii("CLIENT_ERROR bad data chunk\r\n"); // the block does not end in \r\n

// the meta commands: whole lines
export const R_MN = ascii("MN\r\n");
export const R_EN = ascii("EN\r\n"); // me on a miss
export const R_FLAGS_TOO_LONG_MG = ascii("CLIENT_ERROR options flags are too long\r\n"); // mg's wording
export const R_FLAGS_TOO_LONG = ascii("CLIENT_ERROR options flags too long\r\n"); // ms md ma
export const R_INVALID_OR_DUP = ascii("CLIENT_ERROR invalid or duplicate flag\r\n"); // md ma, whatever the flag error
export const R_OPAQUE_TOO_LONG = ascii("CLIENT_ERROR opaque token too long\r\n");
export const R_DUPLICATE = ascii("CLIENT_ERROR duplicate flag\r\n");
export const R_INVALID_FLAG = ascii("CLIENT_ERROR invalid flag\r\n");
export const R_DECODE_KEY = ascii("CLIENT_ERROR error decoding key\r\n");
export const R_BAD_TOKEN = ascii("CLIENT_ERROR bad token in command line format\r\n");
export const R_M_LENGTH = ascii("CLIENT_ERROR incorrect length for M token\r\n");
export const R_BAD_INITIAL = ascii("CLIENT_ERROR invalid numeric initial value\r\n");
export const R_BAD_DELTA = ascii("CLIENT_ERROR invalid numeric delta value\r\n");
export const R_MS_MODE = ascii("CLIENT_ERROR invalid mode for ms M token\r\n");
export const R_MA_MODE = ascii("CLIENT_ERROR invalid mode for ma M token\r\n");
export const R_VIVIFY_OOM = ascii("SERVER_ERROR Out of memory allocating new item\r\n"); // ma N on a miss

// the meta commands: the status a reply line starts with, before its flags
export const M_HD = ascii("HD"); // done
export const M_VA = ascii("VA "); // a value follows; its length comes next
export const M_EN = ascii("EN"); // mg miss
export const M_NF = ascii("NF"); // not found
export const M_NS = ascii("NS"); // not stored
export const M_EX = ascii("EX"); // cas mismatch
export const M_ME = ascii("ME "); // me's debug line; the key comes next

// the listener
export const R_TOO_MANY_CONNS = ascii("ERROR Too many open connections\r\n"); // over -c, then close
