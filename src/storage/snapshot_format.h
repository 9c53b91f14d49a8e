/* The byte layout of snapshot files (docs/DISK_FORMAT.md, "Snapshots"): the header with the
 * snapshot's metadata, the chunk framing, the trailer, and the file names. Pure encoding and
 * decoding, no I/O; shared by the writer, the reader, the directory scan and the stream. */
#ifndef CRAFT_STORAGE_SNAPSHOT_FORMAT_H
#define CRAFT_STORAGE_SNAPSHOT_FORMAT_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>

#include "craft/types.h"
#include "snapshot_store.h"

#define SNAPSHOT_VERSION 3u       /* 3: the header names the group */
#define SNAPSHOT_HEADER_FIXED 48u /* before the id lists */
/* The largest header: every list full. */
#define SNAPSHOT_HEADER_MAX                                                                        \
    (SNAPSHOT_HEADER_FIXED + 8u * (2u * CRAFT_VOTERS_MAX + CRAFT_LEARNERS_MAX) + 4u)
#define SNAPSHOT_CHUNK_HEADER 8u /* CRC-32C, then the payload length */
#define SNAPSHOT_TRAILER_BYTES 40u
/* The length field of a trailer: no chunk can have it, so a reader tells the two apart. */
#define SNAPSHOT_TRAILER_MARK UINT32_MAX

static_assert(SNAPSHOT_CHUNK_BYTES < SNAPSHOT_TRAILER_MARK, "a chunk length is never the mark");
static_assert(CRAFT_VOTERS_MAX <= 255 && CRAFT_LEARNERS_MAX <= 255, "list counts fit one byte");

/* True if m is a snapshot a cluster can have made: index and term at least 1, one to
 * CRAFT_VOTERS_MAX voters, at most CRAFT_VOTERS_MAX old voters and CRAFT_LEARNERS_MAX
 * learners, no id 0, no id twice in a list, no learner that is also a voter (new or old). */
bool snapshot_meta_valid(const struct craft_snapshot_meta *m);

/* The header's size for m's lists. */
size_t snapshot_header_size(const struct craft_membership *m);

/* Encodes the header of group's (>= 1) snapshot m (valid, asserted) into b (SNAPSHOT_HEADER_MAX
 * bytes); returns its size. */
size_t snapshot_header_encode(uint64_t group, const struct craft_snapshot_meta *m,
                              unsigned char *b);

/* Decodes a header from b (avail bytes, which may run past the header); returns its size, or 0
 * if b does not start with a valid one (every field and the checksum are checked, and the
 * metadata must pass snapshot_meta_valid). */
size_t snapshot_header_decode(const unsigned char *b, size_t avail, uint64_t *group,
                              struct craft_snapshot_meta *m);

/* Fills the 8-byte header of a chunk whose len payload bytes follow it in chunk. */
void snapshot_chunk_seal(unsigned char *chunk, size_t len);

/* What a trailer says. */
struct snapshot_trailer {
    uint64_t data_bytes; /* image bytes in all chunks */
    uint64_t n_chunks;
    uint32_t file_crc; /* CRC-32C of every byte before the trailer */
};

void snapshot_trailer_encode(const struct snapshot_trailer *t, unsigned char *b);
/* Decodes SNAPSHOT_TRAILER_BYTES at b; false if they are not a valid trailer. */
bool snapshot_trailer_decode(const unsigned char *b, struct snapshot_trailer *t);

/* Names: the final one is snapshot_file_name (snapshot_store.h). A snapshot being written by
 * snapshot_writer is <final>.tmp; one being received by a sink is <final>.recv.tmp. Both end in
 * ".tmp" and are removed as leftovers by snapshot_latest; neither can pass for a final name. */
#define SNAPSHOT_TMP_SUFFIX ".tmp"
#define SNAPSHOT_RECV_SUFFIX ".recv.tmp"
void snapshot_tmp_name(uint64_t group, craft_index index, craft_term term, char *buf, size_t len);
void snapshot_recv_name(uint64_t group, craft_index index, craft_term term, char *buf, size_t len);

/* True if name is exactly a final snapshot name (of a group >= 1); then *group, *index and *term
 * are its own. */
bool snapshot_name_parse(const char *name, uint64_t *group, craft_index *index, craft_term *term);
/* True if name is a leftover temporary snapshot file (".tmp" or ".recv.tmp"). */
bool snapshot_name_is_tmp(const char *name);

#endif
