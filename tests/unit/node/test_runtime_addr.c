/* Node addresses: host:port with an IP literal or a host name, [v6]:port, and clear refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "node/runtime.h"

static void ok(const char *addr, bool allow_zero, const char *host, uint16_t port)
{
    char h[NET_HOST_MAX];
    uint16_t p = 1;
    char why[128] = "";
    assert_int_equal(rt_addr_parse(addr, allow_zero, h, &p, why, sizeof why), 0);
    assert_string_equal(h, host);
    assert_int_equal(p, port);
}

static void bad(const char *addr, bool allow_zero, const char *reason)
{
    char h[NET_HOST_MAX];
    uint16_t p;
    char why[128] = "";
    assert_int_equal(rt_addr_parse(addr, allow_zero, h, &p, why, sizeof why), CRAFT_EINVAL);
    if (strstr(why, reason) == NULL) {
        fail_msg("\"%s\": reason \"%s\" lacks \"%s\"", addr != NULL ? addr : "(null)", why,
                 reason);
    }
}

static void test_runtime_addr_parses_ipv4_and_ipv6(void **state)
{
    (void)state;
    ok("127.0.0.1:7001", false, "127.0.0.1", 7001);
    ok("10.1.2.3:65535", false, "10.1.2.3", 65535);
    ok("[::1]:7001", false, "::1", 7001);
    ok("[fe80::1:2]:1", false, "fe80::1:2", 1);
    ok("0.0.0.0:0", true, "0.0.0.0", 0);
}

/* Host names are accepted as they are (the transport resolves them at each dial). */
static void test_runtime_addr_accepts_host_names(void **state)
{
    (void)state;
    ok("localhost:7001", false, "localhost", 7001);
    ok("db-1.example.org:7001", false, "db-1.example.org", 7001);
    ok("db-1.example.org.:7001", false, "db-1.example.org.", 7001);
    ok("NODE3:1", false, "NODE3", 1);
    ok("3com.example:1", false, "3com.example", 1);
    ok("localhost:0", true, "localhost", 0);
}

static void test_runtime_addr_refuses_with_reasons(void **state)
{
    (void)state;
    bad("", false, "empty");
    bad(NULL, false, "empty");
    bad("127.0.0.1", false, "no port");
    bad("127.0.0.1:", false, "not a number");
    bad("127.0.0.1:x1", false, "not a number");
    bad("127.0.0.1:70000", false, "0..65535");
    bad("127.0.0.1:12ab", false, "0..65535");
    bad("127.0.0.1:0", false, "port 0");
    bad("bad_host:7001", false, "neither an IP literal nor a host name");
    bad("a b:7001", false, "neither an IP literal nor a host name");
    bad("-db.example:7001", false, "begins with '-'");
    bad("db-.example:7001", false, "ends with '-'");
    bad("db.example-:7001", false, "ends with '-'");
    bad("db..example:7001", false, "empty label");
    bad(".:7001", false, "empty label");
    bad("1.2.3.256:7001", false, "not an IPv4 literal");
    bad("10.1.2:7001", false, "not an IPv4 literal");
    bad("localhost", false, "no port");
    bad("[localhost]:7001", false, "not an IPv6 literal");
    bad("::1:7001", false, "brackets");
    bad("[::1]7001", false, "[ipv6]:port");
    bad("[zz::1]:7001", false, "not an IPv6 literal");
    bad(":7001", false, "empty or overlong host");
    bad("127.0.0.1:7001:7002", false, "brackets");
    char long_addr[CRAFT_ADDRESS_MAX + 8];
    memset(long_addr, '1', sizeof long_addr);
    long_addr[sizeof long_addr - 1] = '\0';
    bad(long_addr, false, "too long");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_addr_parses_ipv4_and_ipv6),
        cmocka_unit_test(test_runtime_addr_accepts_host_names),
        cmocka_unit_test(test_runtime_addr_refuses_with_reasons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
