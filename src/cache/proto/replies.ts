// The fixed reply lines of the text protocol, memcached 1.6.18's exact texts.

import { ascii } from "./output.ts";

/** memcached's KEY_MAX_LENGTH. */
export const KEY_MAX_LENGTH = 250;

export const R_ERROR = ascii("ERROR\r\n");
export const R_BAD_FORMAT = ascii("CLIENT_ERROR bad command line format\r\n");
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
export const R_VALUE = ascii("VALUE ");
export const R_RESET = ascii("RESET\r\n");
export const R_DETAIL_USAGE = ascii("CLIENT_ERROR usage: stats detail on|off|dump\r\n");
export const R_SHUTDOWN = ascii("ERROR: shutdown not enabled\r\n");
export const R_MEMLIMIT_SMALL = ascii("MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n");
export const R_MEMLIMIT_UNITS = ascii("MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n");
export const R_MN = ascii("MN\r\n");
export const R_OUT_OF_MEMORY = ascii("SERVER_ERROR out of memory\r\n");
