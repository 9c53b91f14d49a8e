/* resp_scan: one pass over nested values keeping only a count of values still to come. */
#include "server/resp_scan.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define SCAN_LINE_MAX (64u * 1024u)

/* The line at buf[pos] ends in CRLF at *end (index of CR). 1 found, 0 more, -1 bad. */
static int line_end(const char *buf, size_t len, size_t pos, size_t *end)
{
    size_t avail = len - pos;
    const char *cr = memchr(buf + pos, '\r', avail > SCAN_LINE_MAX ? SCAN_LINE_MAX : avail);
    if (cr == NULL) {
        return avail > SCAN_LINE_MAX ? -1 : 0;
    }
    size_t i = (size_t)(cr - buf);
    if (i + 1 >= len) {
        return 0;
    }
    if (buf[i + 1] != '\n') {
        return -1;
    }
    *end = i;
    return 1;
}

static bool parse_len(const char *s, size_t n, long long *out)
{
    if (n == 2 && s[0] == '-' && s[1] == '1') {
        *out = -1;
        return true;
    }
    if (n == 0 || n > 18) {
        return false;
    }
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

long long resp_scan(const char *buf, size_t len)
{
    size_t pos = 0;
    uint64_t left = 1; /* values still to read, nested ones included */
    while (left > 0) {
        if (pos >= len) {
            return 0;
        }
        char type = buf[pos];
        size_t end;
        int rv = line_end(buf, len, pos, &end);
        if (rv <= 0) {
            return rv;
        }
        long long n;
        switch (type) {
        case '+':
        case '-':
        case ':':
            pos = end + 2;
            left--;
            break;
        case '$':
            if (!parse_len(buf + pos + 1, end - pos - 1, &n)) {
                return -1;
            }
            pos = end + 2;
            if (n >= 0) {
                if (len - pos < (size_t)n + 2) {
                    return 0;
                }
                if (buf[pos + (size_t)n] != '\r' || buf[pos + (size_t)n + 1] != '\n') {
                    return -1;
                }
                pos += (size_t)n + 2;
            }
            left--;
            break;
        case '*':
            if (!parse_len(buf + pos + 1, end - pos - 1, &n)) {
                return -1;
            }
            pos = end + 2;
            left--;
            if (n > 0) {
                left += (uint64_t)n;
            }
            break;
        default:
            return -1;
        }
    }
    return (long long)pos;
}
