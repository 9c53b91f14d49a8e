/* Shared by the wire codec's tests: sample frames of every type with edge values, and helpers to
 * tamper with an encoded frame and seal it again (so a test reaches the field it means, not the
 * checksum). */
#ifndef CRAFT_TEST_WIRE_HELPERS_H
#define CRAFT_TEST_WIRE_HELPERS_H

#include <stdint.h>
#include <string.h>

#include "net/wire.h"
#include "util/byteorder.h"
#include "util/crc32c.h"

#define GROUP 7u
#define N_SAMPLES 16

static const unsigned char sample_bytes[] = "the quick brown fox jumps over the lazy dog";

/* Entries for the AppendEntries samples: every type, empty and non-empty data. */
static const struct craft_entry sample_entries[] = {
    {.term = 1, .index = 11, .type = CRAFT_ENTRY_NOOP, .data = {NULL, 0}},
    {.term = 2, .index = 12, .type = CRAFT_ENTRY_NORMAL, .data = {sample_bytes, 43}},
    {.term = 2, .index = 13, .type = CRAFT_ENTRY_CONFIG, .data = {sample_bytes, 1}},
};

static const struct craft_entry sample_entries_top[] = {
    {.term = UINT64_MAX, .index = UINT64_MAX - 1, .type = CRAFT_ENTRY_NORMAL, .data = {NULL, 0}},
    {.term = UINT64_MAX, .index = UINT64_MAX, .type = CRAFT_ENTRY_NORMAL, .data = {NULL, 0}},
};

/* The i-th sample frame (i < N_SAMPLES), as the decoder should give it back. */
static inline struct wire_frame sample_frame(unsigned i)
{
    struct wire_frame f;
    memset(&f, 0, sizeof f);
    f.group = GROUP;
    f.from = 1;
    f.to = 2;
    struct craft_msg *m = &f.msg;
    if (i < 12) {
        static const uint32_t types[12] = {
            CRAFT_MSG_PREVOTE,     CRAFT_MSG_VOTE,        CRAFT_MSG_PREVOTE_RESP,
            CRAFT_MSG_VOTE_RESP,   CRAFT_MSG_APPEND,      CRAFT_MSG_APPEND,
            CRAFT_MSG_APPEND,      CRAFT_MSG_APPEND_RESP, CRAFT_MSG_APPEND_RESP,
            CRAFT_MSG_TIMEOUT_NOW, CRAFT_MSG_READ_INDEX,  CRAFT_MSG_READ_INDEX_RESP};
        m->type = types[i];
        f.type = (uint8_t)(WIRE_FRAME_MSG + m->type);
        m->from = f.from = i % 2 ? UINT64_MAX : 1;
        m->to = f.to = 2;
        f.group = i % 3 ? GROUP : UINT64_MAX;
        m->term = i % 2 ? UINT64_MAX : 1;
    }
    switch (i) {
    case 0:
        m->vote = (struct craft_msg_vote){.last_index = UINT64_MAX, .last_term = 0};
        break;
    case 1:
        m->vote = (struct craft_msg_vote){.last_index = 0, .last_term = 9, .transfer = true};
        break;
    case 2:
        m->vote_resp.granted = true;
        break;
    case 3:
        m->vote_resp.granted = false;
        break;
    case 4: /* a heartbeat */
        m->append = (struct craft_msg_append){
            .prev_index = 5, .prev_term = 1, .commit = 5, .round = UINT64_MAX};
        break;
    case 5:
        m->append = (struct craft_msg_append){.prev_index = 10,
                                              .prev_term = 1,
                                              .commit = 3,
                                              .entries = sample_entries,
                                              .n_entries = 3,
                                              .round = 1};
        break;
    case 6: /* the last indexes there are */
        m->append = (struct craft_msg_append){.prev_index = UINT64_MAX - 2,
                                              .prev_term = UINT64_MAX,
                                              .commit = UINT64_MAX,
                                              .entries = sample_entries_top,
                                              .n_entries = 2};
        break;
    case 7:
        m->append_resp = (struct craft_msg_append_resp){.success = true, .round = 4, .index = 13};
        break;
    case 8:
        m->append_resp = (struct craft_msg_append_resp){
            .round = UINT64_MAX, .index = 40, .hint_term = 3, .hint_index = 21};
        break;
    case 9:
        break;
    case 10:
        m->read.id = UINT64_MAX;
        break;
    case 11:
        m->read = (struct craft_msg_read){.id = 77, .index = UINT64_MAX, .ok = true};
        break;
    case 12:
        f.type = WIRE_FRAME_HELLO;
        f.group = 0;
        f.from = 3;
        f.to = 0;
        f.hello =
            (struct wire_hello){.cluster = 0xC1, .node = 3, .version_min = 1, .version_max = 1};
        break;
    case 13:
        f.type = WIRE_FRAME_HELLO;
        f.group = 0;
        f.from = UINT64_MAX;
        f.to = 4;
        f.hello = (struct wire_hello){
            .cluster = UINT64_MAX, .node = UINT64_MAX, .version_min = 1, .version_max = UINT16_MAX};
        break;
    case 14:
        f.type = WIRE_FRAME_SNAP_CHUNK;
        f.chunk = (struct wire_snap_chunk){.term = 5,
                                           .snap_index = 100,
                                           .snap_term = 4,
                                           .total = UINT64_MAX,
                                           .offset = UINT64_MAX - 43,
                                           .data = sample_bytes,
                                           .len = 43};
        break;
    case 15:
        f.type = WIRE_FRAME_SNAP_ACK;
        f.from = 2;
        f.to = 1;
        f.ack = (struct wire_snap_ack){.term = 5,
                                       .snap_index = UINT64_MAX,
                                       .snap_term = UINT64_MAX,
                                       .offset = 4096,
                                       .done = true};
        break;
    }
    return f;
}

/* Appends f to b with the encoder of its type. */
static inline int sample_append(struct wire_buf *b, const struct wire_frame *f)
{
    switch (f->type) {
    case WIRE_FRAME_HELLO:
        return wire_buf_append_hello(b, &f->hello, f->to);
    case WIRE_FRAME_SNAP_CHUNK:
        return wire_buf_append_chunk(b, f->group, f->from, f->to, &f->chunk);
    case WIRE_FRAME_SNAP_ACK:
        return wire_buf_append_ack(b, f->group, f->from, f->to, &f->ack);
    }
    return wire_buf_append_msg(b, f->group, &f->msg);
}

/* Recomputes the checksum of the frame in b[0..len) after a test changed it. */
static inline void reseal(unsigned char *b, size_t len)
{
    uint32_t crc = crc32c(0, b, 36);
    crc = crc32c(crc, b + WIRE_HEADER_BYTES, len - WIRE_HEADER_BYTES);
    put_u32le(b + 36, crc);
}

#endif
