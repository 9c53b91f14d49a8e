/* Unit tests for the two classes of queued frames: bulk is cut into whole frames up to a bound
 * (at least one), written from an offset, and classes move between queues without copies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/send_queue.h"
#include "net/transport.h"

static unsigned char data[300u << 10];

/* Appends one chunk of len data bytes to q's bulk class; returns its encoded size. */
static size_t add_chunk(struct send_queue *q, uint32_t len)
{
    struct wire_snap_chunk c = {.term = 1,
                                .snap_index = 10,
                                .snap_term = 1,
                                .total = sizeof data,
                                .offset = 0,
                                .data = data,
                                .len = len};
    assert_int_equal(wire_buf_append_chunk(&q->buf[SEND_BULK], 1, 1, 2, &c), 0);
    q->n_frames[SEND_BULK]++;
    return wire_chunk_size(&c);
}

/* Cuts stop at the last whole frame within the bound; consumed cuts advance the head, and the
 * class empties once all is written. */
static void test_send_queue_cut_whole_frames_up_to_bound(void **state)
{
    (void)state;
    struct send_queue q;
    send_queue_init(&q);
    size_t one = 0;
    for (int i = 0; i < 5; i++) {
        one = add_chunk(&q, 50u << 10);
    }
    assert_true(2 * one <= NET_BULK_WRITE_BYTES_MAX);
    assert_true(3 * one > NET_BULK_WRITE_BYTES_MAX);
    uint64_t n;
    assert_int_equal(send_queue_cut(&q, SEND_BULK, NET_BULK_WRITE_BYTES_MAX, &n), 2 * one);
    assert_int_equal(n, 2);
    send_queue_consume(&q, SEND_BULK, 2 * one, 2);
    assert_int_equal(send_queue_bytes(&q, SEND_BULK), 3 * one);
    assert_int_equal(send_queue_cut(&q, SEND_BULK, NET_BULK_WRITE_BYTES_MAX, &n), 2 * one);
    send_queue_consume(&q, SEND_BULK, 2 * one, 2);
    assert_int_equal(send_queue_cut(&q, SEND_BULK, NET_BULK_WRITE_BYTES_MAX, &n), one);
    assert_int_equal(n, 1);
    send_queue_consume(&q, SEND_BULK, one, 1);
    assert_true(send_queue_empty(&q));
    assert_int_equal(q.buf[SEND_BULK].len, 0);
    assert_int_equal(q.head[SEND_BULK], 0);
    assert_int_equal(send_queue_cut(&q, SEND_BULK, NET_BULK_WRITE_BYTES_MAX, &n), 0);
    assert_int_equal(n, 0);
    send_queue_close(&q);
}

/* A frame larger than the bound goes whole, alone: frames are never split between writes. */
static void test_send_queue_cut_oversized_frame_whole(void **state)
{
    (void)state;
    struct send_queue q;
    send_queue_init(&q);
    size_t big = add_chunk(&q, sizeof data);
    size_t small = add_chunk(&q, 10);
    uint64_t n;
    assert_int_equal(send_queue_cut(&q, SEND_BULK, NET_BULK_WRITE_BYTES_MAX, &n), big);
    assert_int_equal(n, 1);
    send_queue_consume(&q, SEND_BULK, big, 1);
    assert_int_equal(send_queue_cut(&q, SEND_BULK, NET_BULK_WRITE_BYTES_MAX, &n), small);
    assert_int_equal(n, 1);
    /* A connection closing with frames unwritten counts them as dropped. */
    assert_int_equal(send_queue_reset(&q), 1);
    send_queue_close(&q);
}

/* take moves a class by swapping buffers: the bytes are not copied, the source is left empty
 * and its old buffer (memory kept) is ready for new frames. */
static void test_send_queue_take_swaps(void **state)
{
    (void)state;
    struct send_queue pending;
    struct send_queue out;
    send_queue_init(&pending);
    send_queue_init(&out);
    size_t one = add_chunk(&pending, 100);
    const unsigned char *base = pending.buf[SEND_BULK].base;
    send_queue_take(&out, &pending, SEND_BULK);
    assert_ptr_equal(out.buf[SEND_BULK].base, base);
    assert_int_equal(send_queue_bytes(&out, SEND_BULK), one);
    assert_int_equal(out.n_frames[SEND_BULK], 1);
    assert_true(send_queue_empty(&pending));
    assert_int_equal(send_queue_frames(&pending), 0);
    send_queue_close(&pending);
    send_queue_close(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_queue_cut_whole_frames_up_to_bound),
        cmocka_unit_test(test_send_queue_cut_oversized_frame_whole),
        cmocka_unit_test(test_send_queue_take_swaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
