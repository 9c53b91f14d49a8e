/* One simulated file: current and durable content and the pending changes between them; how
 * pending changes settle onto the durable content at an fdatasync, a failed one, or a crash
 * (landed, lost, or torn by byte prefix or by 512-byte sector). */
#include <string.h>

#include "fs_sim_internal.h"
#include "util/alloc.h"
#include "util/assert.h"

static int bytes_reserve(struct fs_sim_bytes *b, uint64_t need)
{
    uint64_t cap;
    uint8_t *p;

    if (need <= b->cap) {
        return 0;
    }
    CRAFT_ASSERT(need <= IO_FS_SIM_FILE_MAX);
    cap = b->cap < 64 ? 64 : b->cap;
    while (cap < need) {
        cap *= 2;
    }
    p = craft_realloc(b->p, (size_t)cap);
    if (p == NULL) {
        return CRAFT_ENOMEM;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Sets len to size, zero-filling growth. Room must be reserved. */
static void bytes_resize(struct fs_sim_bytes *b, uint64_t size)
{
    CRAFT_ASSERT(size <= b->cap);
    if (size > b->len) {
        memset(b->p + b->len, 0, (size_t)(size - b->len));
    }
    b->len = size;
}

/* Copies src to offset, growing len to cover it (a gap reads as zeros). Room must be reserved. */
static void bytes_put(struct fs_sim_bytes *b, uint64_t offset, const uint8_t *src, uint64_t len)
{
    if (len == 0) {
        return;
    }
    if (offset + len > b->len) {
        bytes_resize(b, offset + len);
    }
    memcpy(b->p + offset, src, (size_t)len);
}

size_t fs_sim_bytes_read(const struct fs_sim_bytes *b, void *buf, size_t len, uint64_t offset)
{
    size_t n;

    if (offset >= b->len) {
        return 0;
    }
    n = b->len - offset < len ? (size_t)(b->len - offset) : len;
    memcpy(buf, b->p + offset, n);
    return n;
}

int fs_sim_inode_create(struct fs_sim_inode **out)
{
    *out = craft_calloc(1, sizeof **out);
    return *out == NULL ? CRAFT_ENOMEM : 0;
}

static void forget_changes(struct fs_sim_inode *ino)
{
    for (size_t i = 0; i < ino->n_changes; i++) {
        craft_free(ino->changes[i].data);
    }
    ino->n_changes = 0;
}

void fs_sim_inode_destroy(struct fs_sim_inode *ino)
{
    if (ino == NULL) {
        return;
    }
    forget_changes(ino);
    craft_free(ino->changes);
    craft_free(ino->cur.p);
    craft_free(ino->dur.p);
    craft_free(ino);
}

static int reserve_change(struct fs_sim_inode *ino)
{
    size_t cap;
    struct fs_sim_change *c;

    if (ino->n_changes < ino->cap_changes) {
        return 0;
    }
    cap = ino->cap_changes == 0 ? 8 : ino->cap_changes * 2;
    c = craft_realloc(ino->changes, cap * sizeof *c);
    if (c == NULL) {
        return CRAFT_ENOMEM;
    }
    ino->changes = c;
    ino->cap_changes = cap;
    return 0;
}

int fs_sim_inode_write(struct fs_sim_inode *ino, const struct iovec *iov, int n_iov,
                       uint64_t offset)
{
    uint64_t total = 0;
    uint8_t *data;
    size_t at = 0;
    int rv;

    for (int i = 0; i < n_iov; i++) {
        total += iov[i].iov_len;
    }
    if (total == 0) {
        return 0; /* POSIX: a zero-length write changes nothing, not even the size */
    }
    if (offset > IO_FS_SIM_FILE_MAX || total > IO_FS_SIM_FILE_MAX - offset) {
        return CRAFT_EINVAL;
    }
    rv = bytes_reserve(&ino->cur, offset + total);
    if (rv != 0) {
        return rv;
    }
    rv = reserve_change(ino);
    if (rv != 0) {
        return rv;
    }
    data = craft_malloc((size_t)total);
    if (data == NULL) {
        return CRAFT_ENOMEM;
    }
    for (int i = 0; i < n_iov; i++) {
        if (iov[i].iov_len > 0) {
            memcpy(data + at, iov[i].iov_base, iov[i].iov_len);
            at += iov[i].iov_len;
        }
    }
    bytes_put(&ino->cur, offset, data, total);
    ino->changes[ino->n_changes++] = (struct fs_sim_change){
        .kind = FS_SIM_CHANGE_WRITE, .offset = offset, .len = total, .data = data};
    return 0;
}

int fs_sim_inode_set_size(struct fs_sim_inode *ino, uint64_t size)
{
    int rv;

    if (size > IO_FS_SIM_FILE_MAX) {
        return CRAFT_EINVAL;
    }
    rv = bytes_reserve(&ino->cur, size);
    if (rv != 0) {
        return rv;
    }
    rv = reserve_change(ino);
    if (rv != 0) {
        return rv;
    }
    bytes_resize(&ino->cur, size);
    ino->changes[ino->n_changes++] =
        (struct fs_sim_change){.kind = FS_SIM_CHANGE_SIZE, .size = size};
    return 0;
}

/* A torn write: either a random non-empty proper prefix of its bytes lands, or each 512-byte
 * sector it touches (sectors aligned to the file, as the device sees them) lands or not on its
 * own, in which case the size still grows to the write's end, the missing sectors past the old
 * end reading as zeros (writeback in any order, size metadata committed). */
static void put_torn(struct fs_sim_bytes *b, const struct fs_sim_change *c, struct prng *prng)
{
    uint64_t end = c->offset + c->len;

    if (c->len >= 2 && prng_below(prng, 2) == 0) {
        bytes_put(b, c->offset, c->data, prng_range(prng, 1, c->len));
        return;
    }
    if (end > b->len) {
        bytes_resize(b, end);
    }
    for (uint64_t at = c->offset; at < end;) {
        uint64_t sector_end = (at / IO_FS_SIM_SECTOR + 1) * IO_FS_SIM_SECTOR;
        uint64_t piece_end = sector_end < end ? sector_end : end;
        if (prng_below(prng, 2) == 0) {
            bytes_put(b, at, c->data + (at - c->offset), piece_end - at);
        }
        at = piece_end;
    }
}

int fs_sim_inode_settle(struct fs_sim_inode *ino, enum fs_sim_settle how, struct prng *prng)
{
    uint64_t extent = ino->dur.len;
    int rv;

    /* Reserve for the largest size any outcome can reach, so settling itself cannot fail. */
    for (size_t i = 0; i < ino->n_changes; i++) {
        const struct fs_sim_change *c = &ino->changes[i];
        uint64_t end = c->kind == FS_SIM_CHANGE_WRITE ? c->offset + c->len : c->size;
        extent = end > extent ? end : extent;
    }
    if (how != FS_SIM_SETTLE_NONE) {
        rv = bytes_reserve(&ino->dur, extent);
        if (rv != 0) {
            return rv;
        }
    }
    for (size_t i = 0; i < ino->n_changes && how != FS_SIM_SETTLE_NONE; i++) {
        const struct fs_sim_change *c = &ino->changes[i];
        uint64_t fate = how == FS_SIM_SETTLE_ALL ? 1 : prng_below(prng, 3);
        if (c->kind == FS_SIM_CHANGE_SIZE) {
            if (fate != 0) {
                bytes_resize(&ino->dur, c->size);
            }
        } else if (fate == 1) {
            bytes_put(&ino->dur, c->offset, c->data, c->len);
        } else if (fate == 2) {
            put_torn(&ino->dur, c, prng);
        }
    }
    forget_changes(ino);
    return 0;
}

int fs_sim_inode_reset_current(struct fs_sim_inode *ino)
{
    int rv = bytes_reserve(&ino->cur, ino->dur.len);
    if (rv != 0) {
        return rv;
    }
    if (ino->dur.len > 0) {
        memcpy(ino->cur.p, ino->dur.p, (size_t)ino->dur.len);
    }
    ino->cur.len = ino->dur.len;
    return 0;
}

int fs_sim_inode_flip_bit(struct fs_sim_inode *ino, uint64_t bit_offset)
{
    uint64_t byte = bit_offset / 8;
    uint8_t mask = (uint8_t)(1u << (bit_offset % 8));

    if (byte >= ino->cur.len && byte >= ino->dur.len) {
        return CRAFT_EINVAL;
    }
    if (byte < ino->cur.len) {
        ino->cur.p[byte] ^= mask;
    }
    if (byte < ino->dur.len) {
        ino->dur.p[byte] ^= mask;
    }
    /* So that a later fdatasync or crash replaying the write keeps the flip. */
    for (size_t i = 0; i < ino->n_changes; i++) {
        struct fs_sim_change *c = &ino->changes[i];
        if (c->kind == FS_SIM_CHANGE_WRITE && byte >= c->offset && byte - c->offset < c->len) {
            c->data[byte - c->offset] ^= mask;
        }
    }
    return 0;
}
