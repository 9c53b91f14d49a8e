/* The WAL's record and segment-header codecs (docs/DISK_FORMAT.md, "WAL"). Pure functions over
 * byte buffers: no I/O, and decoding trusts nothing it reads. */
#ifndef CRAFT_STORAGE_WAL_RECORD_H
#define CRAFT_STORAGE_WAL_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "craft/types.h"

#define WAL_RECORD_HEADER_BYTES 48u
#define WAL_RECORD_ALIGN 8u
/* The largest payload one record may carry; a bigger length on disk is corruption. */
#define WAL_RECORD_DATA_MAX (64u << 20)
#define WAL_SEGMENT_HEADER_BYTES 64u
#define WAL_FORMAT_VERSION 2u /* 2: records name their group; hard-state records */

enum wal_record_kind {
    WAL_RECORD_ENTRY = 1,      /* a log entry */
    WAL_RECORD_TRUNCATE = 2,   /* entries from index on are void (a conflicting suffix) */
    WAL_RECORD_HARD_STATE = 3, /* the group's term, vote (payload) and commit (index field) */
};

/* The payload of a hard-state record: the vote (u64). */
#define WAL_HARD_STATE_PAYLOAD 8u

/* Set on the last record of each batch: recovery uses it to tell a torn tail from corruption. */
#define WAL_FLAG_BATCH_END 1u

struct wal_record {
    uint8_t kind;
    uint8_t flags;
    uint8_t entry_type; /* enum craft_entry_type, for ENTRY records */
    uint32_t len;       /* payload bytes */
    uint64_t batch;     /* sequence number of the write batch, rising along the log */
    uint64_t group;     /* the Raft group the record belongs to (>= 1) */
    craft_term term;
    craft_index index; /* for HARD_STATE: the commit index (may be 0) */
    const void *data; /* decode: points into the decoded buffer */
};

enum wal_decode {
    WAL_DECODE_OK = 0,
    WAL_DECODE_ZERO = 1,  /* an all-zero header: the end of written data */
    WAL_DECODE_SHORT = 2, /* the buffer ends inside the record */
    WAL_DECODE_BAD = 3,   /* checksum or field validation failed */
};

/* Bytes a record with len payload bytes takes on disk (header, payload, zero padding). */
size_t wal_record_size(uint32_t len);

/* Encodes r (its data, r->len bytes) at buf, which has wal_record_size(r->len) bytes. */
void wal_record_encode(const struct wal_record *r, void *buf);

/* Encodes only r's header at buf (WAL_RECORD_HEADER_BYTES), its checksum covering r->data as
 * the payload that will follow it on disk (written from elsewhere, then the zero padding). */
void wal_record_encode_header(const struct wal_record *r, void *buf);

/* Sets the flags of an encoded record and updates its checksum from the header alone (the
 * checksum must be that of the record as encoded; its payload is not read, so it may be in buf
 * after the header or elsewhere). */
void wal_record_set_flags(void *buf, uint8_t flags);

/* Decodes the record at buf (avail bytes readable); on WAL_DECODE_OK fills *out and *size. */
enum wal_decode wal_record_decode(const void *buf, size_t avail, struct wal_record *out,
                                  size_t *size);

/* Segment header: seq names the segment's place in the log; first_batch is the batch number its
 * first record carries (>= 1; 0 in segments written before the field existed: not checked). */
void wal_segment_header_encode(uint64_t seq, uint64_t first_batch, void *buf);
bool wal_segment_header_decode(const void *buf, size_t avail, uint64_t *seq, uint64_t *first_batch);

#endif
