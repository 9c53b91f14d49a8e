/* Two classes of queued frames (send_queue.h): the container, nothing of sockets. */
#include "send_queue.h"

#include "util/assert.h"

void send_queue_init(struct send_queue *q)
{
    for (int i = 0; i < SEND_CLASSES; i++) {
        wire_buf_init(&q->buf[i]);
        q->n_frames[i] = 0;
    }
}

void send_queue_close(struct send_queue *q)
{
    for (int i = 0; i < SEND_CLASSES; i++) {
        wire_buf_close(&q->buf[i]);
        q->n_frames[i] = 0;
    }
}

uint64_t send_queue_reset(struct send_queue *q)
{
    uint64_t n = send_queue_frames(q);
    for (int i = 0; i < SEND_CLASSES; i++) {
        wire_buf_reset(&q->buf[i]);
        q->n_frames[i] = 0;
    }
    return n;
}

bool send_queue_empty(const struct send_queue *q)
{
    for (int i = 0; i < SEND_CLASSES; i++) {
        /* Frames imply bytes; bytes without a counted frame are a hello (tcp_conn.c). */
        CRAFT_ASSERT(q->n_frames[i] == 0 || q->buf[i].len > 0);
        if (q->buf[i].len != 0) {
            return false;
        }
    }
    return true;
}

uint64_t send_queue_frames(const struct send_queue *q)
{
    return q->n_frames[SEND_CONTROL] + q->n_frames[SEND_BULK];
}

enum send_class send_class_of(uint8_t frame_type)
{
    return frame_type == WIRE_FRAME_SNAP_CHUNK ? SEND_BULK : SEND_CONTROL;
}
