/* Encoding and strict decoding of WAL records and segment headers. Every record's CRC32C covers
 * all of its header after the checksum field (kind, flags, length, batch, group, term, index) and
 * its payload, so a record written to the wrong place or torn anywhere fails the check. */
#include "wal_record.h"

#include <stdbool.h>
#include <string.h>

#include "util/assert.h"
#include "util/byteorder.h"
#include "util/crc32c.h"
#include "util/copy_stats.h"

static const unsigned char segment_magic[8] = {'C', 'R', 'A', 'F', 'T', 'W', 'A', 'L'};

size_t wal_record_size(uint32_t len)
{
    size_t raw = WAL_RECORD_HEADER_BYTES + (size_t)len;
    return (raw + WAL_RECORD_ALIGN - 1) & ~(size_t)(WAL_RECORD_ALIGN - 1);
}

static uint32_t record_crc(const unsigned char *buf, uint32_t len)
{
    return crc32c(0, buf + 4, WAL_RECORD_HEADER_BYTES - 4 + (size_t)len);
}

/* Checks r against what the decoder accepts (both sides of the boundary agree) and encodes
 * its header at b, without the checksum. */
static void header_encode(const struct wal_record *r, unsigned char *b)
{
    CRAFT_ASSERT(r->len <= WAL_RECORD_DATA_MAX);
    CRAFT_ASSERT(r->index > 0 || r->kind == WAL_RECORD_HARD_STATE);
    CRAFT_ASSERT(r->batch > 0);
    CRAFT_ASSERT(r->group > 0);
    CRAFT_ASSERT((r->flags & ~WAL_FLAG_BATCH_END) == 0);
    CRAFT_ASSERT(r->kind == WAL_RECORD_ENTRY || r->kind == WAL_RECORD_TRUNCATE ||
                 r->kind == WAL_RECORD_HARD_STATE);
    CRAFT_ASSERT(r->kind != WAL_RECORD_ENTRY || r->term > 0);
    CRAFT_ASSERT(r->kind != WAL_RECORD_TRUNCATE || (r->len == 0 && r->entry_type == 0));
    CRAFT_ASSERT(r->kind != WAL_RECORD_HARD_STATE ||
                 (r->len == WAL_HARD_STATE_PAYLOAD && r->entry_type == 0));
    put_u32le(b + 4, r->len);
    /* kind, flags, entry type and five zero bytes as one 8-byte store: the checksum reads these
     * 8 bytes at once right after, and a load that spans several smaller stores still in flight
     * waits for them to reach the cache (a store-forwarding stall, once per record). */
    put_u64le(b + 8, (uint64_t)r->kind | (uint64_t)r->flags << 8 | (uint64_t)r->entry_type << 16);
    put_u64le(b + 16, r->batch);
    put_u64le(b + 24, r->group);
    put_u64le(b + 32, r->term);
    put_u64le(b + 40, r->index);
}

/* The checksum of a header at b whose payload is data (len bytes, anywhere). */
static uint32_t split_crc(const unsigned char *b, const void *data, uint32_t len)
{
    uint32_t crc = crc32c(0, b + 4, WAL_RECORD_HEADER_BYTES - 4);
    return len > 0 ? crc32c(crc, data, len) : crc;
}

void wal_record_encode(const struct wal_record *r, void *buf)
{
    unsigned char *b = buf;
    size_t size = wal_record_size(r->len);
    header_encode(r, b);
    uint32_t crc = crc32c(0, b + 4, WAL_RECORD_HEADER_BYTES - 4);
    if (r->len > 0) {
        /* Copied and checksummed in one pass (the same CRC as over the copy: record_crc). */
        crc = crc32c_copy(crc, b + WAL_RECORD_HEADER_BYTES, r->data, r->len);
        copy_stats_add(COPY_WAL_BATCH, r->len);
    }
    memset(b + WAL_RECORD_HEADER_BYTES + r->len, 0, size - WAL_RECORD_HEADER_BYTES - r->len);
    put_u32le(b, crc);
    CRAFT_ASSERT(get_u32le(b + 4) == r->len);
}

void wal_record_encode_header(const struct wal_record *r, void *buf)
{
    unsigned char *b = buf;
    header_encode(r, b);
    put_u32le(b, split_crc(b, r->data, r->len));
}

void wal_record_set_flags(void *buf, uint8_t flags)
{
    unsigned char *b = buf;
    uint32_t len = get_u32le(b + 4);
    uint32_t head_before = crc32c(0, b + 4, WAL_RECORD_HEADER_BYTES - 4);
    b[9] = flags;
    uint32_t head_after = crc32c(0, b + 4, WAL_RECORD_HEADER_BYTES - 4);
    /* The checksum is linear: the header's change, advanced over the len payload bytes after it,
     * is the record's change. So the payload (wherever it is) is not read a second time. */
    put_u32le(b, get_u32le(b) ^ crc32c_combine(head_before ^ head_after, 0, len));
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

enum wal_decode wal_record_decode(const void *buf, size_t avail, struct wal_record *out,
                                  size_t *size)
{
    const unsigned char *b = buf;
    if (avail < WAL_RECORD_HEADER_BYTES) {
        return avail > 0 && all_zero(b, avail) ? WAL_DECODE_ZERO : WAL_DECODE_SHORT;
    }
    if (all_zero(b, WAL_RECORD_HEADER_BYTES)) {
        return WAL_DECODE_ZERO;
    }
    uint32_t len = get_u32le(b + 4);
    if (len > WAL_RECORD_DATA_MAX) {
        return WAL_DECODE_BAD;
    }
    size_t need = wal_record_size(len);
    if (need > avail) {
        return WAL_DECODE_SHORT;
    }
    bool crc_ok = get_u32le(b) == record_crc(b, len);
#ifdef CRAFT_MUTATION_WAL_SKIP_CRC
    crc_ok = true;
#endif
    if (!crc_ok) {
        return WAL_DECODE_BAD;
    }
    for (size_t i = WAL_RECORD_HEADER_BYTES + len; i < need; i++) {
        if (b[i] != 0) {
            return WAL_DECODE_BAD; /* padding is written as zeros: anything else is damage */
        }
    }
    struct wal_record r = {
        .kind = b[8],
        .flags = b[9],
        .entry_type = b[10],
        .len = len,
        .batch = get_u64le(b + 16),
        .group = get_u64le(b + 24),
        .term = get_u64le(b + 32),
        .index = get_u64le(b + 40),
        .data = b + WAL_RECORD_HEADER_BYTES,
    };
    /* A valid checksum over invalid fields is still not a record we wrote. */
    bool kind_ok =
        (r.kind == WAL_RECORD_ENTRY && r.entry_type >= CRAFT_ENTRY_NORMAL &&
         r.entry_type <= CRAFT_ENTRY_CONFIG && r.term > 0 && r.index != 0) ||
        (r.kind == WAL_RECORD_TRUNCATE && r.len == 0 && r.entry_type == 0 && r.index != 0) ||
        (r.kind == WAL_RECORD_HARD_STATE && r.len == WAL_HARD_STATE_PAYLOAD && r.entry_type == 0);
    if (!kind_ok || (r.flags & ~WAL_FLAG_BATCH_END) != 0 || b[11] != 0 || get_u32le(b + 12) != 0 ||
        r.batch == 0 || r.group == 0) {
        return WAL_DECODE_BAD;
    }
    CRAFT_ASSERT(need >= WAL_RECORD_HEADER_BYTES + len);
    CRAFT_ASSERT(need % WAL_RECORD_ALIGN == 0);
    *out = r;
    *size = need;
    return WAL_DECODE_OK;
}

void wal_segment_header_encode(uint64_t seq, uint64_t first_batch, void *buf)
{
    CRAFT_ASSERT(seq > 0);
    CRAFT_ASSERT(first_batch >= 1);
    unsigned char *b = buf;
    memset(b, 0, WAL_SEGMENT_HEADER_BYTES);
    memcpy(b, segment_magic, sizeof segment_magic);
    put_u32le(b + 8, WAL_FORMAT_VERSION);
    put_u32le(b + 12, WAL_SEGMENT_HEADER_BYTES);
    put_u64le(b + 16, seq);
    put_u64le(b + 24, first_batch);
    put_u32le(b + 60, crc32c(0, b, 60));
}

bool wal_segment_header_decode(const void *buf, size_t avail, uint64_t *seq, uint64_t *first_batch)
{
    const unsigned char *b = buf;
    if (avail < WAL_SEGMENT_HEADER_BYTES || memcmp(b, segment_magic, sizeof segment_magic) != 0) {
        return false;
    }
    if (get_u32le(b + 60) != crc32c(0, b, 60)) {
        return false;
    }
    if (get_u32le(b + 8) != WAL_FORMAT_VERSION || get_u32le(b + 12) != WAL_SEGMENT_HEADER_BYTES) {
        return false;
    }
    *seq = get_u64le(b + 16);
    *first_batch = get_u64le(b + 24);
    return true;
}
