/* The wire codec of the node-to-node connection (docs/WIRE_FORMAT.md): frames with a fixed
 * little-endian header and a checksummed body carrying the handshake, every Raft message and the
 * node's snapshot stream. Pure encoding and decoding with strict validation; no sockets. */
#ifndef CRAFT_NET_WIRE_H
#define CRAFT_NET_WIRE_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "craft/errors.h"
#include "craft/msg.h"
#include "craft/types.h"

#define WIRE_MAGIC 0x57465243u /* the bytes "CRFW" */
#define WIRE_VERSION 1u        /* the only frame format this code reads and writes */
#define WIRE_HEADER_BYTES 40u
/* The receiver's default limit on one frame's body; a node may configure another, up to
 * WIRE_BODY_LIMIT (the length field is 32 bits). */
#define WIRE_BODY_MAX_DEFAULT (64u << 20)
#define WIRE_BODY_LIMIT UINT32_MAX
/* Entries in one AppendEntries frame: bounds the decoder's scratch. The node keeps the core's
 * append_entries_max at or below it. */
#define WIRE_ENTRIES_MAX 65536u

/* Fixed body sizes (docs/WIRE_FORMAT.md, "Bodies"). */
#define WIRE_HELLO_BYTES 24u
#define WIRE_CHUNK_FIXED 48u /* before the chunk's bytes */
#define WIRE_ACK_BYTES 33u
#define WIRE_APPEND_FIXED 44u /* before the entries */
#define WIRE_ENTRY_FIXED 21u  /* before an entry's data */

static_assert(WIRE_BODY_MAX_DEFAULT <= WIRE_BODY_LIMIT, "the default limit fits the length field");

/* Frame types (the header's type byte). A Raft message's frame type is WIRE_FRAME_MSG + its
 * enum craft_msg_type. */
enum wire_frame_type {
    WIRE_FRAME_HELLO = 1,      /* the handshake, first frame each way on a connection */
    WIRE_FRAME_SNAP_CHUNK = 2, /* leader to follower: bytes of a snapshot file */
    WIRE_FRAME_SNAP_ACK = 3,   /* follower to leader: the offset it has */
    WIRE_FRAME_MSG = 16,
};
#define WIRE_FRAME_MSG_LAST (WIRE_FRAME_MSG + CRAFT_MSG_TYPE_MAX)
/* The wire numbers are fixed by the format: a change of enum craft_msg_type needs a new version. */
static_assert(CRAFT_MSG_PREVOTE == 1 && CRAFT_MSG_READ_INDEX_RESP == 9, "message numbers are wire");
static_assert(WIRE_FRAME_MSG_LAST <= 255, "a frame type is one byte");

/* The handshake. The header's from is node, group is 0, to is the node dialled (0: unknown). */
struct wire_hello {
    uint64_t cluster;
    craft_id node;
    uint16_t version_min; /* the frame versions the sender speaks */
    uint16_t version_max;
};

/* A piece of a snapshot file (the raw bytes of docs/DISK_FORMAT.md, "Snapshots"), sent by the
 * leader of term to the follower in the header's to. */
struct wire_snap_chunk {
    craft_term term;
    craft_index snap_index;
    craft_term snap_term;
    uint64_t total; /* the file's size */
    uint64_t offset;
    const void *data; /* decoded: points into the frame's buffer */
    uint32_t len;
};

/* A follower's answer to chunks: it holds the file up to offset (done: the whole file, checked
 * and published). */
struct wire_snap_ack {
    craft_term term; /* the leader term the answer is for */
    craft_index snap_index;
    craft_term snap_term;
    uint64_t offset;
    bool done;
};

/* A decoded frame. */
struct wire_frame {
    uint8_t type; /* enum wire_frame_type, or WIRE_FRAME_MSG + a message type */
    uint64_t group;
    craft_id from;
    craft_id to;
    union {
        struct wire_hello hello;
        struct craft_msg msg; /* msg.from and msg.to are the header's */
        struct wire_snap_chunk chunk;
        struct wire_snap_ack ack;
    };
};

/* The decoder's room for the entries of an AppendEntries: owned by the caller (one per
 * connection, reused frame after frame), grown by wire_decode, freed by wire_scratch_close. */
struct wire_scratch {
    struct craft_entry *entries;
    size_t cap;
};

void wire_scratch_init(struct wire_scratch *s);
void wire_scratch_close(struct wire_scratch *s);

/* Whether buf[0..avail) starts with a whole frame, for a reader that gets bytes in arbitrary
 * pieces. Returns 0 and sets *need to the size of the frame that starts at buf (header and body)
 * once its header is there, else to WIRE_HEADER_BYTES: the frame is whole when *need <= avail.
 * Before the body arrives, refuses a header that cannot be ours: CRAFT_ECORRUPT (bad magic, a
 * reserved field not zero), CRAFT_EINVAL (a version other than WIRE_VERSION), CRAFT_ETOOBIG (a
 * body longer than max_body). errmsg (may be NULL) names the field. Pure; any thread. */
CRAFT_MUST_CHECK int wire_frame_size(const void *buf, size_t avail, size_t max_body, size_t *need,
                                     char *errmsg, size_t errmsg_len);

/* Decodes the frame that is exactly buf[0..len) (as measured by wire_frame_size) into *frame.
 * Every field is checked (docs/WIRE_FORMAT.md, "Validation"): CRAFT_EINVAL for a version other
 * than WIRE_VERSION, CRAFT_ECORRUPT for anything else malformed (magic, lengths, checksums,
 * unknown frame type, counts, enums, flags, ids, index overflow, trailing bytes), CRAFT_ENOMEM
 * when the scratch cannot grow; errmsg (may be NULL) names the field. The frame's pointers
 * (chunk data, entry data) point into buf, and an AppendEntries' entries array into scratch: they
 * live until buf changes or the next wire_decode with scratch or wire_scratch_close, whichever
 * comes first. On error *frame is undefined. Any thread (one per scratch). */
CRAFT_MUST_CHECK int wire_decode(const void *buf, size_t len, struct wire_scratch *scratch,
                                 struct wire_frame *frame, char *errmsg, size_t errmsg_len);

/* Frame sizes (header and body) of what the encoders below write. m must be valid for the wire
 * (asserted by the encoders): a known type, from and to not 0 and different, entries of a known
 * type at prev_index + 1, + 2, ... (at most WIRE_ENTRIES_MAX). */
size_t wire_msg_size(const struct craft_msg *m);
size_t wire_hello_size(void);
size_t wire_chunk_size(const struct wire_snap_chunk *c);
size_t wire_ack_size(void);

/* Encoders into a caller's buffer of cap bytes, at least the size above (asserted): each writes
 * one whole frame and returns its size. The body must fit WIRE_BODY_LIMIT (asserted; a caller
 * keeps its frames below the receiver's max_body). group is not 0. Pure; any thread. */
size_t wire_encode_msg(uint64_t group, const struct craft_msg *m, void *buf, size_t cap);
size_t wire_encode_hello(const struct wire_hello *h, craft_id to, void *buf, size_t cap);
size_t wire_encode_chunk(uint64_t group, craft_id from, craft_id to,
                         const struct wire_snap_chunk *c, void *buf, size_t cap);
size_t wire_encode_ack(uint64_t group, craft_id from, craft_id to, const struct wire_snap_ack *a,
                       void *buf, size_t cap);

/* A growable output buffer, for a writer that batches frames: owned by the caller, the bytes
 * (base, owned by the buffer) live until the next append, wire_buf_reset or wire_buf_close. */
struct wire_buf {
    unsigned char *base;
    size_t len;
    size_t cap;
};

void wire_buf_init(struct wire_buf *b);
void wire_buf_close(struct wire_buf *b);
void wire_buf_reset(struct wire_buf *b); /* len = 0; keeps the memory */

/* Append one frame to b. Return 0, CRAFT_ETOOBIG (a body past WIRE_BODY_LIMIT) or CRAFT_ENOMEM;
 * on error b is as it was. */
CRAFT_MUST_CHECK int wire_buf_append_msg(struct wire_buf *b, uint64_t group,
                                         const struct craft_msg *m);
CRAFT_MUST_CHECK int wire_buf_append_hello(struct wire_buf *b, const struct wire_hello *h,
                                           craft_id to);
CRAFT_MUST_CHECK int wire_buf_append_chunk(struct wire_buf *b, uint64_t group, craft_id from,
                                           craft_id to, const struct wire_snap_chunk *c);
CRAFT_MUST_CHECK int wire_buf_append_ack(struct wire_buf *b, uint64_t group, craft_id from,
                                         craft_id to, const struct wire_snap_ack *a);

/* The route check a connection makes on every decoded frame but the hello: it comes from the
 * peer the handshake named and is addressed to this node. Returns 0 or CRAFT_EMISMATCH (errmsg
 * says which). */
CRAFT_MUST_CHECK int wire_check_route(const struct wire_frame *f, craft_id peer, craft_id self,
                                      char *errmsg, size_t errmsg_len);

/* The highest frame version both hellos speak, or 0 when their ranges do not meet. */
uint16_t wire_hello_agree(const struct wire_hello *mine, const struct wire_hello *theirs);

/* True if a and b are the same frame: every field the wire carries, entries and bytes compared
 * by value. For the encoders' debug check, the tests and the fuzzer. */
bool wire_frame_equal(const struct wire_frame *a, const struct wire_frame *b);

/* A short name for a frame type ("hello", "append", "?"). */
const char *wire_frame_type_name(uint8_t type);

#endif
