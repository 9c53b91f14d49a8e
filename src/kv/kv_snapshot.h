/* The store's snapshot, written to and read from any byte stream (the node's snapshot streams
 * in kv_fsm.c, a buffer in the tests). Byte layout: docs/KV_FORMAT.md. */
#ifndef CRAFT_KV_SNAPSHOT_H
#define CRAFT_KV_SNAPSHOT_H

#include <stddef.h>

#include "kv/kv.h"

#define KV_SNAPSHOT_MAGIC 0x534b5643u /* "CVKS" read as bytes: 'C' 'V' 'K' 'S' */
#define KV_SNAPSHOT_VERSION 1u
#define KV_SNAPSHOT_CHUNK (64u * 1024u) /* the stream is written and read in pieces this big */

/* The record tags. */
enum {
    KV_SNAPSHOT_KEY = 1,
    KV_SNAPSHOT_SESSION = 2,
    KV_SNAPSHOT_NODE = 3,
    KV_SNAPSHOT_END = 0xff,
};

/* Appends len bytes to the stream: 0, or an error that ends the save. */
typedef int (*kv_stream_write_fn)(void *ctx, const void *buf, size_t len);
/* Reads up to len bytes; *got = 0 at the end of the stream. 0, or an error. */
typedef int (*kv_stream_read_fn)(void *ctx, void *buf, size_t len, size_t *got);

/* Writes s's whole state (live keys, sessions, node directory) to the stream. 0, CRAFT_ENOMEM
 * or the stream's error. Does not change s. Apply thread only. */
CRAFT_MUST_CHECK int kv_snapshot_save(const struct kv_store *s, kv_stream_write_fn write,
                                      void *ctx);
/* Replaces s's whole state with the snapshot read from the stream, after checking all of it
 * (structure, counts, checksum, nothing after the end). On any error (CRAFT_ECORRUPT,
 * CRAFT_ENOMEM or the stream's) s is unchanged. Apply thread only. */
CRAFT_MUST_CHECK int kv_snapshot_restore(struct kv_store *s, kv_stream_read_fn read, void *ctx);

#endif
