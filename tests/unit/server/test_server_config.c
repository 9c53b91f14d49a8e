/* Unit tests for craftd's flags and config file: every flag, --name=value, the file with
 * comments and flags overriding it, --help, and the errors that name the flag. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/join.h"
#include "server/server_config.h"

static int parse(struct server_config *c, char *err, size_t n, const char *const *args)
{
    char *argv[64];
    int argc = 0;
    argv[argc++] = "craftd";
    for (; args[argc - 1] != NULL; argc++) {
        argv[argc] = (char *)args[argc - 1];
    }
    server_config_init(c);
    err[0] = '\0';
    return server_config_parse(c, argc, argv, err, n);
}

static void test_server_config_every_flag(void **state)
{
    (void)state;
    struct server_config c;
    char err[256];
    const char *const args[] = {"--id", "2", "--bind", "0.0.0.0", "--port", "7002",
                                "--peer-port=7102", "--dir", "/tmp/x", "--peers",
                                "1@10.0.0.1:7101,2@10.0.0.2:7102", "--cluster-id", "9",
                                "--election-timeout-ms", "500", "--heartbeat-ms", "50",
                                "--snapshot-every", "1000", "--requirepass", "pw",
                                "--log-level", "debug", "--request-timeout-ms", "2000",
                                "--max-bulk", "1024", "--metrics-port", "9100", "--join",
                                "10.0.0.1:7001", NULL};
    assert_int_equal(parse(&c, err, sizeof err, args), 0);
    assert_int_equal(c.id, 2);
    assert_string_equal(c.bind, "0.0.0.0");
    assert_int_equal(c.port, 7002);
    assert_int_equal(c.peer_port, 7102);
    assert_string_equal(c.dir, "/tmp/x");
    assert_int_equal(c.n_peers, 2);
    assert_int_equal(c.peers[1].id, 2);
    assert_string_equal(c.peers[1].address, "10.0.0.2:7102");
    assert_int_equal(c.cluster_id, 9);
    assert_int_equal(c.election_timeout_ms, 500);
    assert_int_equal(c.heartbeat_ms, 50);
    assert_int_equal(c.snapshot_every, 1000);
    assert_string_equal(c.requirepass, "pw");
    assert_int_equal(c.log_level, 3);
    assert_int_equal(c.request_timeout_ms, 2000);
    assert_int_equal(c.max_bulk, 1024);
    assert_int_equal(c.metrics_port, 9100);
    assert_string_equal(c.join, "10.0.0.1:7001");
}

/* The file sets keys ("key value", '#' comments); a flag after --config overrides it. */
static void test_server_config_file(void **state)
{
    (void)state;
    char path[] = "/tmp/craftd-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "# a node\nid 3\n  dir /tmp/n3   # trailing comment\n\nport 7003\n"
                        "peers 3@127.0.0.1:7103\n";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    struct server_config c;
    char err[256];
    const char *const args[] = {"--config", path, "--port", "7010", NULL};
    assert_int_equal(parse(&c, err, sizeof err, args), 0);
    assert_int_equal(c.id, 3);
    assert_string_equal(c.dir, "/tmp/n3");
    assert_int_equal(c.port, 7010);
    assert_int_equal(c.n_peers, 1);
    unlink(path);
}

static void test_server_config_help(void **state)
{
    (void)state;
    struct server_config c;
    char err[256];
    const char *const args[] = {"--help", NULL};
    assert_int_equal(parse(&c, err, sizeof err, args), 1);
}

struct bad {
    const char *args[8];
    const char *error_part;
};

static void test_server_config_errors(void **state)
{
    (void)state;
    static const struct bad bad[] = {
        {{"--dir", "/tmp/x", NULL}, "--id is required"},
        {{"--id", "1", NULL}, "--dir is required"},
        {{"--id", "0", "--dir", "d", NULL}, "--id: bad value"},
        {{"--id", "1", "--dir", "d", "--port", "70000", NULL}, "--port: bad value"},
        {{"--id", "1", "--dir", "d", "--peers", "1@x", NULL}, "bad address"},
        {{"--id", "1", "--dir", "d", "--peers", "a@1.2.3.4:5", NULL}, "bad node id"},
        {{"--id", "1", "--dir", "d", "--peers", "1@a:1,1@b:2", NULL}, "listed twice"},
        {{"--id", "1", "--dir", "d", "--nope", "1", NULL}, "unknown flag"},
        {{"--id", "1", "--dir", "d", "--log-level", "loud", NULL}, "--log-level: bad value"},
        {{"--id", "1", "--dir", "d", "--heartbeat-ms", "2000", NULL}, "--heartbeat-ms"},
        {{"--id", "1", "--dir", "d", "--port", NULL}, "needs a value"},
        {{"--id", "1", "--dir", "d", "--config", "/nonexistent/craftd.conf", NULL}, "--config"},
        {{"--id", "1", "--dir", "d", "--join", "10.0.0.1", NULL}, "--join: address"},
        {{"--id", "1", "--dir", "d", "--join", "::1:7001", NULL}, "IPv6 host goes in brackets"},
        {{"--id", "1", "--dir", "d", "--join", "[::1]", NULL}, "want [ipv6]:port"},
        {{"--id", "1", "--dir", "d", "--join", "[10.0.0.1]:7001", NULL}, "not an IPv6 literal"},
        {{"--id", "1", "--dir", "d", "--join", "db_1:7001", NULL}, "neither an IP literal"},
        {{"--id", "1", "--dir", "d", "--join", "10.0.1:7001", NULL}, "not an IPv4 literal"},
        {{"--id", "1", "--dir", "d", "--join", "db1:0", NULL}, "1..65535"},
        {{"--id", "1", "--dir", "d", "--join", "db1:70000", NULL}, "1..65535"},
        {{"--id", "1", "--dir", "d", "--join", ":7001", NULL}, "empty or overlong host"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct server_config c;
        char err[256];
        int rv = parse(&c, err, sizeof err, bad[i].args);
        if (rv != -1 || strstr(err, bad[i].error_part) == NULL) {
            fail_msg("case %zu: rv %d, error '%s', want '%s'", i, rv, err, bad[i].error_part);
        }
    }
}

/* --join takes the addresses --peers does: an IPv4 literal, a bracketed IPv6 literal, a host
 * name; join_address_parse splits them. */
static void test_server_config_join_addresses(void **state)
{
    (void)state;
    static const struct {
        const char *addr;
        const char *host;
        uint16_t port;
    } good[] = {
        {"10.0.0.1:7001", "10.0.0.1", 7001},
        {"[::1]:7001", "::1", 7001},
        {"[fe80::1:2]:1", "fe80::1:2", 1},
        {"localhost:65535", "localhost", 65535},
        {"db-1.example.org.:7001", "db-1.example.org.", 7001},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        struct server_config c;
        char err[256];
        const char *const args[] = {"--id", "1", "--dir", "d", "--join", good[i].addr, NULL};
        if (parse(&c, err, sizeof err, args) != 0) {
            fail_msg("--join %s refused: %s", good[i].addr, err);
        }
        assert_string_equal(c.join, good[i].addr);
        char host[CRAFT_ADDRESS_MAX];
        uint16_t port = 0;
        assert_int_equal(join_address_parse(c.join, host, &port, err, sizeof err), 0);
        assert_string_equal(host, good[i].host);
        assert_int_equal(port, good[i].port);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_config_every_flag),
        cmocka_unit_test(test_server_config_file),
        cmocka_unit_test(test_server_config_help),
        cmocka_unit_test(test_server_config_errors),
        cmocka_unit_test(test_server_config_join_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
