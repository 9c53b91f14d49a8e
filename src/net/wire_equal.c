/* Frame equality by value: what the encoders' debug check, the tests and the fuzzer compare. */
#include <string.h>

#include "util/assert.h"
#include "wire_internal.h"

static bool bytes_equal(const void *a, const void *b, size_t len)
{
    return len == 0 || memcmp(a, b, len) == 0;
}

static bool entries_equal(const struct craft_entry *a, const struct craft_entry *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (a[i].term != b[i].term || a[i].index != b[i].index || a[i].type != b[i].type ||
            a[i].data.len != b[i].data.len ||
            !bytes_equal(a[i].data.base, b[i].data.base, a[i].data.len)) {
            return false;
        }
    }
    return true;
}

/* The fields the wire carries for the message's type (others are not sent, so not compared). */
static bool msg_equal(const struct craft_msg *a, const struct craft_msg *b)
{
    if (a->type != b->type || a->from != b->from || a->to != b->to || a->term != b->term) {
        return false;
    }
    switch (a->type) {
    case CRAFT_MSG_PREVOTE:
    case CRAFT_MSG_VOTE:
        return a->vote.last_index == b->vote.last_index && a->vote.last_term == b->vote.last_term &&
               a->vote.transfer == b->vote.transfer;
    case CRAFT_MSG_PREVOTE_RESP:
    case CRAFT_MSG_VOTE_RESP:
        return a->vote_resp.granted == b->vote_resp.granted;
    case CRAFT_MSG_APPEND:
        return a->append.prev_index == b->append.prev_index &&
               a->append.prev_term == b->append.prev_term && a->append.commit == b->append.commit &&
               a->append.round == b->append.round && a->append.n_entries == b->append.n_entries &&
               entries_equal(a->append.entries, b->append.entries, a->append.n_entries);
    case CRAFT_MSG_APPEND_RESP:
        return a->append_resp.success == b->append_resp.success &&
               a->append_resp.round == b->append_resp.round &&
               a->append_resp.index == b->append_resp.index &&
               a->append_resp.hint_term == b->append_resp.hint_term &&
               a->append_resp.hint_index == b->append_resp.hint_index;
    case CRAFT_MSG_TIMEOUT_NOW:
        return true;
    case CRAFT_MSG_READ_INDEX:
        return a->read.id == b->read.id;
    case CRAFT_MSG_READ_INDEX_RESP:
        return a->read.id == b->read.id && a->read.index == b->read.index &&
               a->read.ok == b->read.ok;
    }
    return false;
}

bool wire_frame_equal(const struct wire_frame *a, const struct wire_frame *b)
{
    if (a->type != b->type || a->group != b->group || a->from != b->from || a->to != b->to) {
        return false;
    }
    switch (a->type) {
    case WIRE_FRAME_HELLO:
        return a->hello.cluster == b->hello.cluster && a->hello.node == b->hello.node &&
               a->hello.version_min == b->hello.version_min &&
               a->hello.version_max == b->hello.version_max;
    case WIRE_FRAME_SNAP_CHUNK:
        return a->chunk.term == b->chunk.term && a->chunk.snap_index == b->chunk.snap_index &&
               a->chunk.snap_term == b->chunk.snap_term && a->chunk.total == b->chunk.total &&
               a->chunk.offset == b->chunk.offset && a->chunk.len == b->chunk.len &&
               bytes_equal(a->chunk.data, b->chunk.data, a->chunk.len);
    case WIRE_FRAME_SNAP_ACK:
        return a->ack.term == b->ack.term && a->ack.snap_index == b->ack.snap_index &&
               a->ack.snap_term == b->ack.snap_term && a->ack.offset == b->ack.offset &&
               a->ack.done == b->ack.done;
    }
    CRAFT_ASSERT(a->type > WIRE_FRAME_MSG && a->type <= WIRE_FRAME_MSG_LAST);
    return msg_equal(&a->msg, &b->msg);
}
