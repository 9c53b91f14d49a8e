/* Two classes of queued frames (send_queue.h): the container, nothing of sockets. */
#include "send_queue.h"

#include "util/assert.h"

void send_queue_init(struct send_queue *q)
{
    for (int i = 0; i < SEND_CLASSES; i++) {
        wire_buf_init(&q->buf[i]);
        q->n_frames[i] = 0;
        q->head[i] = 0;
    }
}

void send_queue_close(struct send_queue *q)
{
    for (int i = 0; i < SEND_CLASSES; i++) {
        wire_buf_close(&q->buf[i]);
        q->n_frames[i] = 0;
        q->head[i] = 0;
    }
}

static void class_reset(struct send_queue *q, enum send_class k)
{
    wire_buf_reset(&q->buf[k]);
    q->n_frames[k] = 0;
    q->head[k] = 0;
}

uint64_t send_queue_reset(struct send_queue *q)
{
    uint64_t n = send_queue_frames(q);
    for (int i = 0; i < SEND_CLASSES; i++) {
        class_reset(q, (enum send_class)i);
    }
    return n;
}

size_t send_queue_bytes(const struct send_queue *q, enum send_class k)
{
    CRAFT_ASSERT(q->head[k] <= q->buf[k].len);
    return q->buf[k].len - q->head[k];
}

bool send_queue_empty(const struct send_queue *q)
{
    for (int i = 0; i < SEND_CLASSES; i++) {
        size_t left = send_queue_bytes(q, (enum send_class)i);
        /* Frames imply bytes; bytes without a counted frame are a hello (tcp_conn.c). */
        CRAFT_ASSERT(q->n_frames[i] == 0 || left > 0);
        if (left != 0) {
            return false;
        }
    }
    return true;
}

uint64_t send_queue_frames(const struct send_queue *q)
{
    return q->n_frames[SEND_CONTROL] + q->n_frames[SEND_BULK];
}

void send_queue_take(struct send_queue *to, struct send_queue *from, enum send_class k)
{
    CRAFT_ASSERT(send_queue_bytes(to, k) == 0);
    CRAFT_ASSERT(from->head[k] == 0); /* a queue being filled is never written from */
    class_reset(to, k);
    struct wire_buf swap = to->buf[k];
    to->buf[k] = from->buf[k];
    to->n_frames[k] = from->n_frames[k];
    from->buf[k] = swap;
    from->n_frames[k] = 0;
}

size_t send_queue_cut(const struct send_queue *q, enum send_class k, size_t bytes_max,
                      uint64_t *n_frames)
{
    size_t left = send_queue_bytes(q, k);
    size_t cut = 0;
    *n_frames = 0;
    if (left == 0) {
        return 0; /* base may be NULL: no pointer arithmetic on it */
    }
    const unsigned char *p = q->buf[k].base + q->head[k];
    while (cut < left) {
        size_t need;
        /* Our own encoding: always a whole, valid frame. */
        int rv = wire_frame_size(p + cut, left - cut, WIRE_BODY_LIMIT, &need, NULL, 0);
        CRAFT_ASSERT(rv == 0);
        CRAFT_ASSERT(need <= left - cut);
        if (cut > 0 && need > bytes_max - cut) {
            break;
        }
        cut += need;
        (*n_frames)++;
        if (cut >= bytes_max) {
            break;
        }
    }
    CRAFT_ASSERT(*n_frames <= q->n_frames[k]);
    return cut;
}

void send_queue_consume(struct send_queue *q, enum send_class k, size_t len, uint64_t n_frames)
{
    CRAFT_ASSERT(len <= send_queue_bytes(q, k));
    CRAFT_ASSERT(n_frames <= q->n_frames[k]);
    q->head[k] += len;
    q->n_frames[k] -= n_frames;
    if (q->head[k] == q->buf[k].len) {
        CRAFT_ASSERT(q->n_frames[k] == 0);
        class_reset(q, k);
    }
}

enum send_class send_class_of(uint8_t frame_type)
{
    return frame_type == WIRE_FRAME_SNAP_CHUNK ? SEND_BULK : SEND_CONTROL;
}
