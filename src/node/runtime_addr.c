/* Node addresses: "host:port" with an IPv4 literal or a host name (resolved by the transport at
 * each dial), or "[v6]:port", parsed with clear errors. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

static int bad(char *errmsg, size_t errmsg_len, const char *addr, const char *why)
{
    if (errmsg != NULL && errmsg_len > 0) {
        snprintf(errmsg, errmsg_len, "address \"%s\": %s", addr, why);
    }
    return CRAFT_EINVAL;
}

int rt_addr_parse(const char *addr, bool allow_zero, char host[NET_HOST_MAX], uint16_t *port,
                  char *errmsg, size_t errmsg_len)
{
    const char *host_begin;
    const char *host_end;
    const char *port_text;
    unsigned char probe[sizeof(struct in6_addr)];
    bool v6;

    if (addr == NULL || addr[0] == '\0') {
        return bad(errmsg, errmsg_len, "", "empty (want host:port)");
    }
    if (strlen(addr) >= CRAFT_ADDRESS_MAX) {
        return bad(errmsg, errmsg_len, addr, "too long");
    }
    if (addr[0] == '[') {
        host_begin = addr + 1;
        host_end = strchr(host_begin, ']');
        if (host_end == NULL || host_end[1] != ':') {
            return bad(errmsg, errmsg_len, addr, "want [ipv6]:port");
        }
        port_text = host_end + 2;
        v6 = true;
    } else {
        host_begin = addr;
        host_end = strrchr(addr, ':');
        if (host_end == NULL) {
            return bad(errmsg, errmsg_len, addr, "no port (want host:port)");
        }
        if (memchr(addr, ':', (size_t)(host_end - addr)) != NULL) {
            return bad(errmsg, errmsg_len, addr, "an IPv6 host goes in brackets: [ipv6]:port");
        }
        port_text = host_end + 1;
        v6 = false;
    }
    size_t host_len = (size_t)(host_end - host_begin);
    if (host_len == 0 || host_len >= NET_HOST_MAX) {
        return bad(errmsg, errmsg_len, addr, "empty or overlong host");
    }
    memcpy(host, host_begin, host_len);
    host[host_len] = '\0';
    if (v6 && inet_pton(AF_INET6, host, probe) != 1) {
        return bad(errmsg, errmsg_len, addr, "not an IPv6 literal");
    }
    if (!v6 && inet_pton(AF_INET, host, probe) != 1) {
        const char *why = net_host_name_check(host);
        if (why != NULL) {
            return bad(errmsg, errmsg_len, addr, why);
        }
    }
    if (port_text[0] < '0' || port_text[0] > '9') {
        return bad(errmsg, errmsg_len, addr, "port is not a number");
    }
    char *end;
    unsigned long value = strtoul(port_text, &end, 10);
    if (*end != '\0' || value > 65535) {
        return bad(errmsg, errmsg_len, addr, "port is not a number in 0..65535");
    }
    if (value == 0 && !allow_zero) {
        return bad(errmsg, errmsg_len, addr, "port 0 (a peer needs its real port)");
    }
    *port = (uint16_t)value;
    return 0;
}
