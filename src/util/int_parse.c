/* Exact integer parsing as Redis does it (string2ll): what a client's number must look like. */
#include "int_parse.h"

bool int_parse_i64(const char *p, size_t n, int64_t *v)
{
    if (n == 0 || n > 20) {
        return false;
    }
    if (n == 1 && p[0] == '0') {
        *v = 0;
        return true;
    }
    size_t i = 0;
    bool negative = p[0] == '-';
    if (negative) {
        i++;
    }
    if (i == n || p[i] < '1' || p[i] > '9') {
        return false; /* "-", "-0", leading zero, sign or space */
    }
    uint64_t u = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return false;
        }
        unsigned d = (unsigned)(p[i] - '0');
        if (u > (UINT64_MAX - d) / 10) {
            return false;
        }
        u = u * 10 + d;
    }
    if (negative) {
        if (u > (uint64_t)INT64_MAX + 1) {
            return false;
        }
        *v = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
    } else {
        if (u > (uint64_t)INT64_MAX) {
            return false;
        }
        *v = (int64_t)u;
    }
    return true;
}
