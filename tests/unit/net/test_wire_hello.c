/* Unit tests for the handshake and the route check: the decoded hello gives the caller what it
 * needs to refuse a peer of another cluster or an unknown node, and versions to agree on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wire_helpers.h"

static struct wire_frame roundtrip(const struct wire_frame *f, struct wire_scratch *s,
                                   struct wire_buf *b)
{
    wire_buf_reset(b);
    assert_int_equal(sample_append(b, f), 0);
    struct wire_frame got;
    assert_int_equal(wire_decode(b->base, b->len, s, &got, NULL, 0), 0);
    return got;
}

/* A peer of another cluster says so in its hello; the caller compares and refuses. */
static void test_wire_hello_other_cluster_is_visible(void **state)
{
    (void)state;
    struct wire_scratch s;
    struct wire_buf b;
    wire_scratch_init(&s);
    wire_buf_init(&b);
    const uint64_t our_cluster = 0xC1;
    struct wire_hello theirs = {.cluster = 0xBAD, .node = 9, .version_min = 1, .version_max = 3};
    struct wire_frame f = {.type = WIRE_FRAME_HELLO, .from = 9, .to = 2, .hello = theirs};
    struct wire_frame got = roundtrip(&f, &s, &b);
    assert_int_equal(got.type, WIRE_FRAME_HELLO);
    assert_int_equal(got.group, 0);
    assert_int_equal(got.from, 9);
    assert_int_equal(got.to, 2);
    assert_int_equal(got.hello.cluster, 0xBAD);
    assert_true(got.hello.cluster != our_cluster);
    assert_int_equal(got.hello.node, 9);
    assert_int_equal(got.hello.version_min, 1);
    assert_int_equal(got.hello.version_max, 3);
    wire_buf_close(&b);
    wire_scratch_close(&s);
}

static void test_wire_hello_version_agreement(void **state)
{
    (void)state;
    struct wire_hello mine = {.cluster = 1, .node = 1, .version_min = 1, .version_max = 1};
    struct wire_hello newer = {.cluster = 1, .node = 2, .version_min = 1, .version_max = 4};
    struct wire_hello only_new = {.cluster = 1, .node = 2, .version_min = 2, .version_max = 4};
    assert_int_equal(wire_hello_agree(&mine, &newer), 1);
    assert_int_equal(wire_hello_agree(&newer, &mine), 1);
    assert_int_equal(wire_hello_agree(&mine, &only_new), 0);
    assert_int_equal(wire_hello_agree(&newer, &only_new), 4);
}

/* Every frame but the hello must come from the connection's peer, to this node. */
static void test_wire_hello_route_check(void **state)
{
    (void)state;
    struct wire_frame f = sample_frame(4); /* from 1 to 2 */
    char errmsg[128] = "";
    assert_int_equal(wire_check_route(&f, 1, 2, errmsg, sizeof errmsg), 0);
    assert_int_equal(wire_check_route(&f, 3, 2, errmsg, sizeof errmsg), CRAFT_EMISMATCH);
    assert_non_null(strstr(errmsg, "from 1"));
    assert_int_equal(wire_check_route(&f, 1, 3, errmsg, sizeof errmsg), CRAFT_EMISMATCH);
    assert_non_null(strstr(errmsg, "to 2"));
}

static void test_wire_hello_type_names(void **state)
{
    (void)state;
    assert_string_equal(wire_frame_type_name(WIRE_FRAME_HELLO), "hello");
    assert_string_equal(wire_frame_type_name(WIRE_FRAME_MSG + CRAFT_MSG_APPEND), "append");
    assert_string_equal(wire_frame_type_name(WIRE_FRAME_MSG_LAST), "read-index-resp");
    assert_string_equal(wire_frame_type_name(WIRE_FRAME_MSG), "?");
    assert_string_equal(wire_frame_type_name(200), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_hello_other_cluster_is_visible),
        cmocka_unit_test(test_wire_hello_version_agreement),
        cmocka_unit_test(test_wire_hello_route_check),
        cmocka_unit_test(test_wire_hello_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
