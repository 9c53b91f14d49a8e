/* craft_node_create refuses a config it cannot run with, and says why in errmsg. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../unit/scratch_dir.h"
#include "cluster.h"

static char dir[64];
static struct cl_fsm fsm;
static const craft_id voters[] = {1, 2};
static const struct craft_peer peers[] = {{.id = 2, .address = "127.0.0.1:7002"}};

static void base(struct craft_node_config *cfg)
{
    craft_node_config_init(cfg);
    cfg->cluster = 7;
    cfg->id = 1;
    cfg->data_dir = dir;
    cfg->listen = "127.0.0.1:0";
    cfg->peers = peers;
    cfg->n_peers = 1;
    cfg->voters = voters;
    cfg->n_voters = 2;
    cfg->log_level = CRAFT_LOG_ERROR - 0;
}

static void refused(const struct craft_node_config *cfg, const struct craft_fsm_ops *ops,
                    const char *why)
{
    struct craft_node *n = (void *)1;
    char errmsg[256] = "";
    int rv = craft_node_create(cfg, ops, &fsm, &n, errmsg, sizeof errmsg);
    assert_int_equal(rv, CRAFT_EINVAL);
    assert_null(n);
    if (strstr(errmsg, why) == NULL) {
        fail_msg("errmsg \"%s\" does not mention \"%s\"", errmsg, why);
    }
}

static void quiet(void *ctx, int level, const char *line)
{
    (void)ctx;
    (void)level;
    (void)line;
}

static void test_node_config_refusals(void **state)
{
    (void)state;
    struct craft_node_config cfg;
    snprintf(dir, sizeof dir, "/tmp/craft-config-XXXXXX");
    assert_non_null(mkdtemp(dir));
    cl_fsm_init(&fsm);

    base(&cfg);
    cfg.log = quiet;
    cfg.id = 0;
    refused(&cfg, &cl_fsm_ops, "id");

#define CASE(field_change, why)                                                                    \
    do {                                                                                           \
        base(&cfg);                                                                                \
        cfg.log = quiet;                                                                           \
        field_change;                                                                              \
        refused(&cfg, &cl_fsm_ops, why);                                                           \
    } while (0)

    CASE(cfg.listen = "bad_host:7001", "neither an IP literal nor a host name");
    CASE(cfg.listen = "127.0.0.1", "no port");
    CASE(cfg.listen = "127.0.0.1:99999", "0..65535");
    CASE(cfg.listen = "::1:7001", "brackets");
    CASE(cfg.data_dir = "", "data_dir");
    CASE(cfg.heartbeat_interval_ms = cfg.election_timeout_ms, "heartbeat_interval_ms");
    CASE(cfg.entry_bytes_max = 0, "entry_bytes_max");
    CASE(cfg.n_voters = 1; cfg.voters = &voters[1], "names this node");

    static const struct craft_peer bad_peer[] = {{.id = 2, .address = "127.0.0.1:0"}};
    CASE(cfg.peers = bad_peer, "peers[0]");
    static const struct craft_peer self_peer[] = {{.id = 1, .address = "127.0.0.1:7001"}};
    CASE(cfg.peers = self_peer, "peers[0]");

    struct craft_fsm_ops no_apply = cl_fsm_ops;
    no_apply.apply = NULL;
    base(&cfg);
    cfg.log = quiet;
    refused(&cfg, &no_apply, "apply");

    /* The good one starts (and the same directory of another node id is refused). */
    base(&cfg);
    struct craft_node *n;
    char errmsg[256];
    assert_int_equal(craft_node_create(&cfg, &cl_fsm_ops, &fsm, &n, errmsg, sizeof errmsg), 0);
    struct craft_node_status st;
    craft_node_status(n, &st);
    assert_int_equal(st.id, 1);
    /* Peers added later are checked the same way. */
    struct craft_peer p = {.id = 2, .address = "127.0.0.1:7009"};
    assert_int_equal(craft_node_add_peer(n, &p), CRAFT_EEXIST);
    p.id = 1;
    assert_int_equal(craft_node_add_peer(n, &p), CRAFT_EINVAL);
    p.id = 3;
    snprintf(p.address, sizeof p.address, "no_host:1"); /* not a host name */
    assert_int_equal(craft_node_add_peer(n, &p), CRAFT_EINVAL);
    snprintf(p.address, sizeof p.address, "[::1]:7003");
    assert_int_equal(craft_node_add_peer(n, &p), 0);
    assert_int_equal(craft_node_add_peer(n, &p), CRAFT_EEXIST);

    /* A port in use fails after the loop and the transport began: all of it is undone. */
    char other_dir[64] = "/tmp/craft-config-XXXXXX";
    assert_non_null(mkdtemp(other_dir));
    char busy[CRAFT_ADDRESS_MAX];
    snprintf(busy, sizeof busy, "127.0.0.1:%u", (unsigned)craft_node_listen_port(n));
    struct craft_node_config other;
    base(&other);
    other.log = quiet;
    other.id = 3;
    other.data_dir = other_dir;
    other.listen = busy;
    other.voters = NULL;
    other.n_voters = 0;
    struct craft_node *o = NULL;
    assert_int_equal(craft_node_create(&other, &cl_fsm_ops, &fsm, &o, errmsg, sizeof errmsg),
                     CRAFT_EIO);
    assert_null(o);
    assert_non_null(strstr(errmsg, "cannot listen"));
    scratch_dir_remove(other_dir);
    craft_node_destroy(n);
    base(&cfg);
    cfg.log = quiet;
    cfg.id = 2;
    cfg.voters = NULL;
    cfg.n_voters = 0;
    static const struct craft_peer peer1[] = {{.id = 1, .address = "127.0.0.1:7001"}};
    cfg.peers = peer1;
    assert_int_equal(craft_node_create(&cfg, &cl_fsm_ops, &fsm, &n, errmsg, sizeof errmsg),
                     CRAFT_EMISMATCH);
    cl_fsm_close(&fsm);
    scratch_dir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_config_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
