/* The frames waiting for one connection's write, in two classes: control (every Raft message,
 * snapshot answers) before bulk (snapshot chunks), so a heartbeat never waits behind queued
 * chunks. Each class is one growable buffer of whole frames. */
#ifndef CRAFT_NET_SEND_QUEUE_H
#define CRAFT_NET_SEND_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "wire.h"

enum send_class {
    SEND_CONTROL = 0,
    SEND_BULK = 1,
    SEND_CLASSES = 2,
};

struct send_queue {
    struct wire_buf buf[SEND_CLASSES]; /* owned here */
    uint64_t n_frames[SEND_CLASSES];
};

void send_queue_init(struct send_queue *q);
void send_queue_close(struct send_queue *q);
/* Empties q, keeping its memory; returns the number of frames it held. */
uint64_t send_queue_reset(struct send_queue *q);
bool send_queue_empty(const struct send_queue *q);
uint64_t send_queue_frames(const struct send_queue *q);
/* The class of an encoded frame, read from its type byte. */
enum send_class send_class_of(uint8_t frame_type);

#endif
