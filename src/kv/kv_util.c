/* Redis's small string helpers, binary-safe: glob matching (stringmatchlen) and keyword
 * comparison (integers: util/int_parse.h). */
#include <ctype.h>
#include <stdint.h>

#include "kv_internal.h"

bool kv_word_is(const char *p, size_t n, const char *word)
{
    size_t i = 0;
    for (; i < n; i++) {
        if (word[i] == '\0' || tolower((unsigned char)p[i]) != word[i]) {
            return false;
        }
    }
    return word[i] == '\0';
}

/* A '[...]' class at pat (just after the '['): whether c is in it; *used set to the bytes the
 * class takes, the closing ']' included (an unclosed class runs to the pattern's end). */
static bool class_match(const unsigned char *pat, size_t plen, unsigned char c, size_t *used)
{
    size_t i = 0;
    bool negate = plen > 0 && pat[0] == '^';
    bool match = false;
    if (negate) {
        i++;
    }
    while (i < plen && pat[i] != ']') {
        if (pat[i] == '\\' && plen - i >= 2) {
            i++;
            match |= pat[i] == c;
        } else if (plen - i >= 3 && pat[i + 1] == '-') {
            unsigned char lo = pat[i], hi = pat[i + 2];
            if (lo > hi) {
                unsigned char t = lo;
                lo = hi;
                hi = t;
            }
            match |= c >= lo && c <= hi;
            i += 2;
        } else {
            match |= pat[i] == c;
        }
        i++;
    }
    /* An unclosed class: Redis steps back onto the last byte, which then ends the pattern. */
    *used = i < plen ? i + 1 : i;
    return negate ? !match : match;
}

/* stringmatchlen's recursion; *give_up is Redis's skipLongerMatches (once the rest of the
 * pattern matched nowhere, a longer match for an earlier '*' cannot help). */
static bool glob(const unsigned char *pat, size_t plen, const unsigned char *s, size_t slen,
                 bool *give_up, int depth)
{
    if (depth > 1000) {
        return false; /* abusive patterns, as Redis */
    }
    while (plen > 0 && slen > 0) {
        size_t used = 1;
        switch (pat[0]) {
        case '*':
            while (plen > 1 && pat[1] == '*') {
                pat++;
                plen--;
            }
            if (plen == 1) {
                return true;
            }
            for (; slen > 0; s++, slen--) {
                if (glob(pat + 1, plen - 1, s, slen, give_up, depth + 1)) {
                    return true;
                }
                if (*give_up) {
                    return false;
                }
            }
            *give_up = true;
            return false;
        case '?':
            break;
        case '[':
            if (!class_match(pat + 1, plen - 1, s[0], &used)) {
                return false;
            }
            used += 1;
            break;
        case '\\':
            if (plen >= 2) {
                pat++;
                plen--;
            }
            /* fall through */
        default:
            if (pat[0] != s[0]) {
                return false;
            }
            break;
        }
        pat += used;
        plen -= used;
        s++;
        slen--;
    }
    while (slen == 0 && plen > 0 && pat[0] == '*') {
        pat++;
        plen--;
    }
    return plen == 0 && slen == 0;
}

bool kv_glob_match(const char *pat, size_t plen, const char *s, size_t slen)
{
    bool give_up = false;
    return glob((const unsigned char *)pat, plen, (const unsigned char *)s, slen, &give_up, 0);
}
