/* Finds where one RESP2 value ends (simple string, error, integer, bulk, array, nested): how
 * craftd's forwarder and join client split a peer's replies without decoding them. */
#ifndef CRAFT_SERVER_RESP_SCAN_H
#define CRAFT_SERVER_RESP_SCAN_H

#include <stddef.h>

/* The length of the complete value at buf[0..len); 0 if more bytes are needed; -1 if the
 * bytes are not RESP2 (a bad type byte, a bad length, a missing CRLF, lines past 64 KiB). */
long long resp_scan(const char *buf, size_t len);

#endif
