/* Encoding and decoding the parts of a snapshot file: header (version 2, with the whole
 * membership), chunk headers, trailer, file names. Layout: docs/DISK_FORMAT.md, "Snapshots". */
#include "snapshot_format.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/assert.h"
#include "util/byteorder.h"
#include "util/crc32c.h"

static const unsigned char snapshot_magic[8] = {'C', 'R', 'A', 'F', 'T', 'S', 'N', 'P'};
static const unsigned char trailer_magic[8] = {'C', 'R', 'A', 'F', 'T', 'E', 'N', 'D'};

static bool list_has(const craft_id *ids, unsigned n, craft_id id)
{
    for (unsigned i = 0; i < n; i++) {
        if (ids[i] == id) {
            return true;
        }
    }
    return false;
}

static bool list_ok(const craft_id *ids, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (ids[i] == CRAFT_ID_NONE || list_has(ids, i, ids[i])) {
            return false;
        }
    }
    return true;
}

bool snapshot_meta_valid(const struct craft_snapshot_meta *m)
{
    const struct craft_membership *c = &m->membership;
    if (m->index == 0 || m->term == 0 || c->n_voters == 0 || c->n_voters > CRAFT_VOTERS_MAX ||
        c->n_voters_old > CRAFT_VOTERS_MAX || c->n_learners > CRAFT_LEARNERS_MAX) {
        return false;
    }
    if (!list_ok(c->voters, c->n_voters) || !list_ok(c->voters_old, c->n_voters_old) ||
        !list_ok(c->learners, c->n_learners)) {
        return false;
    }
    for (unsigned i = 0; i < c->n_learners; i++) {
        if (list_has(c->voters, c->n_voters, c->learners[i]) ||
            list_has(c->voters_old, c->n_voters_old, c->learners[i])) {
            return false;
        }
    }
    return true;
}

size_t snapshot_header_size(const struct craft_membership *m)
{
    return SNAPSHOT_HEADER_FIXED + 8u * (m->n_voters + m->n_voters_old + m->n_learners) + 4u;
}

static unsigned char *put_ids(unsigned char *p, const craft_id *ids, unsigned n)
{
    for (unsigned i = 0; i < n; i++, p += 8) {
        put_u64le(p, ids[i]);
    }
    return p;
}

static const unsigned char *get_ids(const unsigned char *p, craft_id *ids, unsigned n)
{
    for (unsigned i = 0; i < n; i++, p += 8) {
        ids[i] = get_u64le(p);
    }
    return p;
}

size_t snapshot_header_encode(uint64_t group, const struct craft_snapshot_meta *m, unsigned char *b)
{
    CRAFT_ASSERT(snapshot_meta_valid(m));
    CRAFT_ASSERT(group != 0);
    const struct craft_membership *c = &m->membership;
    size_t size = snapshot_header_size(c);
    CRAFT_ASSERT(size <= SNAPSHOT_HEADER_MAX);
    memset(b, 0, size);
    memcpy(b, snapshot_magic, sizeof snapshot_magic);
    put_u32le(b + 8, SNAPSHOT_VERSION);
    put_u32le(b + 12, (uint32_t)size);
    put_u64le(b + 16, m->index);
    put_u64le(b + 24, m->term);
    put_u32le(b + 32, SNAPSHOT_CHUNK_BYTES);
    b[36] = (unsigned char)c->n_voters;
    b[37] = (unsigned char)c->n_voters_old;
    b[38] = (unsigned char)c->n_learners;
    put_u64le(b + 40, group);
    unsigned char *p = put_ids(b + SNAPSHOT_HEADER_FIXED, c->voters, c->n_voters);
    p = put_ids(p, c->voters_old, c->n_voters_old);
    p = put_ids(p, c->learners, c->n_learners);
    CRAFT_ASSERT((size_t)(p - b) == size - 4);
    put_u32le(p, crc32c(0, b, size - 4));
    return size;
}

static bool all_zero(const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (b[i] != 0) {
            return false;
        }
    }
    return true;
}

size_t snapshot_header_decode(const unsigned char *b, size_t avail, uint64_t *group,
                              struct craft_snapshot_meta *m)
{
    if (avail < SNAPSHOT_HEADER_FIXED || memcmp(b, snapshot_magic, sizeof snapshot_magic) != 0 ||
        get_u32le(b + 8) != SNAPSHOT_VERSION || get_u32le(b + 32) != SNAPSHOT_CHUNK_BYTES ||
        b[39] != 0 || get_u64le(b + 40) == 0) {
        return 0;
    }
    struct craft_snapshot_meta d;
    memset(&d, 0, sizeof d);
    struct craft_membership *c = &d.membership;
    c->n_voters = b[36];
    c->n_voters_old = b[37];
    c->n_learners = b[38];
    if (c->n_voters > CRAFT_VOTERS_MAX || c->n_voters_old > CRAFT_VOTERS_MAX ||
        c->n_learners > CRAFT_LEARNERS_MAX) {
        return 0; /* before the size is computed from them */
    }
    size_t size = snapshot_header_size(c);
    if (get_u32le(b + 12) != size || avail < size ||
        get_u32le(b + size - 4) != crc32c(0, b, size - 4)) {
        return 0;
    }
    d.index = get_u64le(b + 16);
    d.term = get_u64le(b + 24);
    const unsigned char *p = get_ids(b + SNAPSHOT_HEADER_FIXED, c->voters, c->n_voters);
    p = get_ids(p, c->voters_old, c->n_voters_old);
    p = get_ids(p, c->learners, c->n_learners);
    CRAFT_ASSERT((size_t)(p - b) == size - 4);
    if (!snapshot_meta_valid(&d)) {
        return 0; /* a checksum that holds over nonsense: written by a bug, not by us */
    }
    *group = get_u64le(b + 40);
    *m = d;
    return size;
}

void snapshot_chunk_seal(unsigned char *chunk, size_t len)
{
    CRAFT_ASSERT(len > 0);
    CRAFT_ASSERT(len <= SNAPSHOT_CHUNK_BYTES);
    put_u32le(chunk + 4, (uint32_t)len);
    put_u32le(chunk, crc32c(0, chunk + 4, 4 + len));
}

void snapshot_trailer_encode(const struct snapshot_trailer *t, unsigned char *b)
{
    memset(b, 0, SNAPSHOT_TRAILER_BYTES);
    put_u32le(b + 4, SNAPSHOT_TRAILER_MARK);
    memcpy(b + 8, trailer_magic, sizeof trailer_magic);
    put_u64le(b + 16, t->data_bytes);
    put_u64le(b + 24, t->n_chunks);
    put_u32le(b + 32, t->file_crc);
    put_u32le(b, crc32c(0, b + 4, SNAPSHOT_TRAILER_BYTES - 4));
}

bool snapshot_trailer_decode(const unsigned char *b, struct snapshot_trailer *t)
{
    if (get_u32le(b) != crc32c(0, b + 4, SNAPSHOT_TRAILER_BYTES - 4) ||
        get_u32le(b + 4) != SNAPSHOT_TRAILER_MARK ||
        memcmp(b + 8, trailer_magic, sizeof trailer_magic) != 0 || !all_zero(b + 36, 4)) {
        return false;
    }
    t->data_bytes = get_u64le(b + 16);
    t->n_chunks = get_u64le(b + 24);
    t->file_crc = get_u32le(b + 32);
    return true;
}

void snapshot_file_name_group(uint64_t group, craft_index index, craft_term term, char *buf,
                              size_t len)
{
    snprintf(buf, len, "snapshot-%016" PRIx64 "-%016" PRIx64 "-%016" PRIx64 ".snap", group, index,
             term);
}

void snapshot_file_name(craft_index index, craft_term term, char *buf, size_t len)
{
    snapshot_file_name_group(SNAPSHOT_GROUP_DEFAULT, index, term, buf, len);
}

void snapshot_tmp_name(uint64_t group, craft_index index, craft_term term, char *buf, size_t len)
{
    snprintf(buf, len,
             "snapshot-%016" PRIx64 "-%016" PRIx64 "-%016" PRIx64 ".snap" SNAPSHOT_TMP_SUFFIX,
             group, index, term);
}

void snapshot_recv_name(uint64_t group, craft_index index, craft_term term, char *buf, size_t len)
{
    snprintf(buf, len,
             "snapshot-%016" PRIx64 "-%016" PRIx64 "-%016" PRIx64 ".snap" SNAPSHOT_RECV_SUFFIX,
             group, index, term);
}

bool snapshot_name_parse(const char *name, uint64_t *group, craft_index *index, craft_term *term)
{
    uint64_t g;
    uint64_t i;
    uint64_t t;
    if (strncmp(name, "snapshot-", 9) != 0 ||
        sscanf(name, "snapshot-%16" SCNx64 "-%16" SCNx64 "-%16" SCNx64, &g, &i, &t) != 3) {
        return false;
    }
    /* Only the exact names we make count (sscanf lets signs, spaces and short numbers by). */
    char want[IO_FS_NAME_MAX];
    snapshot_file_name_group(g, i, t, want, sizeof want);
    if (strcmp(name, want) != 0 || g == 0) {
        return false;
    }
    *group = g;
    *index = i;
    *term = t;
    return true;
}

bool snapshot_name_is_tmp(const char *name)
{
    size_t len = strlen(name);
    size_t suffix = sizeof SNAPSHOT_TMP_SUFFIX - 1;
    return strncmp(name, "snapshot-", 9) == 0 && len > suffix &&
           strcmp(name + len - suffix, SNAPSHOT_TMP_SUFFIX) == 0;
}
