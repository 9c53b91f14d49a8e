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
/* The same, staging the stream in buf (KV_SNAPSHOT_CHUNK bytes, the caller's): allocates
 * nothing, so a forked child may run it (kv_snapshot_view.c). */
CRAFT_MUST_CHECK int kv_snapshot_save_buf(const struct kv_store *s, void *buf,
                                          kv_stream_write_fn write, void *ctx);
/* Replaces s's whole state with the snapshot read from the stream, after checking all of it
 * (structure, counts, checksum, nothing after the end). On any error (CRAFT_ECORRUPT,
 * CRAFT_ENOMEM or the stream's) s is unchanged. Apply thread only. */
CRAFT_MUST_CHECK int kv_snapshot_restore(struct kv_store *s, kv_stream_read_fn read, void *ctx);

/* A snapshot of s written while s goes on changing (fsm snapshot_begin/write/end): begin takes
 * the view (a fork: the child writes the snapshot of s as of now into a pipe) on the apply
 * thread; write copies it into the stream, on any one thread, while applies change s; end
 * releases it (after write, or instead of it). begin: 0, CRAFT_ENOMEM or CRAFT_EIO (no fork);
 * write: 0, or the stream's error, or CRAFT_EIO when the child failed. */
struct kv_snapshot_view;
CRAFT_MUST_CHECK int kv_snapshot_view_begin(struct kv_store *s, struct kv_snapshot_view **out);
CRAFT_MUST_CHECK int kv_snapshot_view_write(struct kv_snapshot_view *v, kv_stream_write_fn write,
                                            void *ctx);
void kv_snapshot_view_end(struct kv_snapshot_view *v);
/* The process writing v (for tests and diagnostics), 0 once reaped. */
int kv_snapshot_view_pid(const struct kv_snapshot_view *v);

#endif
