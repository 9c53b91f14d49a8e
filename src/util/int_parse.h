/* Exact integer parsing as Redis does it (string2ll), binary-safe. */
#ifndef CRAFT_UTIL_INT_PARSE_H
#define CRAFT_UTIL_INT_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* p[0..n) is an optional '-', then "0" or digits without a leading zero, fitting in int64 (so
 * not empty, no '+', no spaces, no "-0", no "01"): true and *v set, else false. */
bool int_parse_i64(const char *p, size_t n, int64_t *v);

#endif
