/* Host names in addresses: the syntax of RFC 1123 (letters, digits and '-' in dot-separated
 * labels), checked when a peer is added; the name itself is resolved at each dial
 * (transport_peer.c). */
#include <arpa/inet.h>
#include <string.h>

#include "transport.h"
#include "util/assert.h"

/* RFC 1035, 2.3.4; only a longer NET_HOST_MAX would let a name reach it. */
#define LABEL_MAX 63

static bool ldh(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-';
}

bool net_host_is_ip(const char *host)
{
    unsigned char probe[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, probe) == 1 || inet_pton(AF_INET6, host, probe) == 1;
}

const char *net_host_name_check(const char *name)
{
    CRAFT_ASSERT(name != NULL);
    size_t len = strnlen(name, NET_HOST_MAX);
    if (len == 0 || len == NET_HOST_MAX) {
        return "empty or overlong host";
    }
    if (len > 1 && name[len - 1] == '.') {
        len--; /* a fully qualified name: "example.org." */
    }
    size_t label = 0;
    size_t last_label = 0; /* where the last label begins */
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        if (ch == '.') {
            if (label == 0) {
                return "an empty label in the host name";
            }
            if (name[i - 1] == '-') {
                return "a label of the host name ends with '-'";
            }
            label = 0;
            last_label = i + 1;
            continue;
        }
        if (!ldh(ch)) {
            return "host is neither an IP literal nor a host name (letters, digits, '-' and '.')";
        }
        if (ch == '-' && label == 0) {
            return "a label of the host name begins with '-'";
        }
        if (++label > LABEL_MAX) {
            return "a label of the host name is longer than 63 characters";
        }
    }
    if (label == 0) {
        return "an empty label in the host name";
    }
    if (name[len - 1] == '-') {
        return "a label of the host name ends with '-'";
    }
    /* No top-level domain is all digits (RFC 3696, 2): this is a mistyped IPv4 literal. */
    if (strspn(name + last_label, "0123456789") == len - last_label) {
        return "host is not an IPv4 literal";
    }
    return NULL;
}
