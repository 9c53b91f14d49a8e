/* The frames waiting for one connection's write, in two classes: control (every Raft message,
 * snapshot answers) before bulk (snapshot chunks), so a heartbeat never waits behind queued
 * chunks. Each class is one growable buffer of whole frames, written from its front. */
#ifndef CRAFT_NET_SEND_QUEUE_H
#define CRAFT_NET_SEND_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

enum send_class {
    SEND_CONTROL = 0,
    SEND_BULK = 1,
    SEND_CLASSES = 2,
};

struct send_queue {
    struct wire_buf buf[SEND_CLASSES]; /* owned here */
    uint64_t n_frames[SEND_CLASSES];   /* frames in buf not yet written */
    size_t head[SEND_CLASSES];         /* bytes at the front of buf already written */
};

void send_queue_init(struct send_queue *q);
void send_queue_close(struct send_queue *q);
/* Empties q, keeping its memory; returns the number of frames it held (not yet written). */
uint64_t send_queue_reset(struct send_queue *q);
bool send_queue_empty(const struct send_queue *q);
uint64_t send_queue_frames(const struct send_queue *q);
/* Bytes of class k not yet written. */
size_t send_queue_bytes(const struct send_queue *q, enum send_class k);
/* Once every byte of to's class k is written: moves from's class k into to (the buffers swap,
 * nothing is copied), leaving from's class k empty. */
void send_queue_take(struct send_queue *to, struct send_queue *from, enum send_class k);
/* The whole frames of class k from its head, as many as fit in bytes_max but at least one (a
 * frame is never split between writes): returns their length (0 when the class is empty) and
 * their number in *n_frames. */
size_t send_queue_cut(const struct send_queue *q, enum send_class k, size_t bytes_max,
                      uint64_t *n_frames);
/* The len bytes and n_frames frames at the head of class k were written; the class is emptied
 * (keeping its memory) once all of it is. */
void send_queue_consume(struct send_queue *q, enum send_class k, size_t len, uint64_t n_frames);
/* The class of an encoded frame, read from its type byte. */
enum send_class send_class_of(uint8_t frame_type);

#endif
