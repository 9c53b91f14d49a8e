/* Hard state persisted in two slots that each save writes in turn (slot 0, fdatasync, slot 1,
 * fdatasync): a torn write damages only the slot being written while the other holds the
 * previous or the new state, and bit rot in one slot of a completed save leaves the other with
 * the same state, so no durable vote is ever forgotten (docs/DISK_FORMAT.md, "Hard state"). */
#include "hard_state.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/byteorder.h"
#include "util/crc32c.h"

#define HARD_STATE_VERSION 1u

struct hard_state_file {
    struct io_fs *fs;
    struct io_file *file; /* owned */
    uint64_t seq;         /* sequence number of the current state's slot */
    bool failed;
};

void hard_state_slot_encode(uint64_t seq, const struct craft_hard_state *hs, void *buf)
{
    CRAFT_ASSERT(seq > 0); /* seq 0 decodes as "never written" */
    CRAFT_ASSERT(hs->vote == CRAFT_ID_NONE || hs->term > 0); /* a vote belongs to a term */
    unsigned char *b = buf;
    memset(b, 0, HARD_STATE_SLOT_BYTES);
    put_u32le(b + 4, HARD_STATE_VERSION);
    put_u64le(b + 8, seq);
    put_u64le(b + 16, hs->term);
    put_u64le(b + 24, hs->vote);
    put_u64le(b + 32, hs->commit);
    put_u32le(b, crc32c(0, b + 4, HARD_STATE_SLOT_BYTES - 4));
}

int hard_state_slot_decode(const void *buf, uint64_t *seq, struct craft_hard_state *hs)
{
    const unsigned char *b = buf;
    bool zero = true;
    for (unsigned i = 0; i < HARD_STATE_SLOT_BYTES && zero; i++) {
        zero = b[i] == 0;
    }
    if (zero) {
        *seq = 0;
        memset(hs, 0, sizeof *hs);
        return 0;
    }
    if (get_u32le(b) != crc32c(0, b + 4, HARD_STATE_SLOT_BYTES - 4) ||
        get_u32le(b + 4) != HARD_STATE_VERSION || get_u64le(b + 40) != 0) {
        return -1;
    }
    *seq = get_u64le(b + 8);
    hs->term = get_u64le(b + 16);
    hs->vote = get_u64le(b + 24);
    hs->commit = get_u64le(b + 32);
    return *seq == 0 ? -1 : 1;
}

static int read_slot(struct hard_state_file *h, unsigned slot, uint64_t *seq,
                     struct craft_hard_state *hs)
{
    unsigned char buf[HARD_STATE_SLOT_BYTES] = {0};
    size_t n_read;
    int rv = io_fs_pread(h->fs, h->file, buf, sizeof buf, (uint64_t)slot * HARD_STATE_SLOT_STRIDE,
                         &n_read);
    if (rv != 0) {
        return rv;
    }
    /* A short file reads as zeros: the slot was never written. */
    return hard_state_slot_decode(buf, seq, hs) < 0 ? CRAFT_ECORRUPT : 0;
}

static int write_slot(struct hard_state_file *h, unsigned slot, uint64_t seq,
                      const struct craft_hard_state *hs)
{
    unsigned char buf[HARD_STATE_SLOT_BYTES];
    hard_state_slot_encode(seq, hs, buf);
    int rv = io_fs_pwrite(h->fs, h->file, buf, sizeof buf, (uint64_t)slot * HARD_STATE_SLOT_STRIDE);
    if (rv == 0) {
        rv = io_fs_fdatasync(h->fs, h->file);
    }
    return rv;
}

static int open_file(struct io_fs *fs, struct hard_state_file *h)
{
    int rv = io_fs_open(fs, HARD_STATE_FILE, 0, &h->file);
    if (rv == CRAFT_ENOTFOUND) {
        /* The new file's name must be durable before any state saved in it counts. */
        rv = io_fs_open(fs, HARD_STATE_FILE, IO_FS_CREATE, &h->file);
        if (rv == 0) {
            rv = io_fs_sync_dir(fs);
            if (rv != 0) {
                io_fs_close(fs, h->file);
            }
        }
    }
    return rv;
}

/* Which slot holds the state to recover: the valid one with the higher sequence number (an
 * empty slot counts as sequence 0). -1 if neither is valid. */
static int pick_slot(const int ok[2], const uint64_t seq[2])
{
    if (!ok[0] && !ok[1]) {
        return -1;
    }
    if (!ok[0] || !ok[1]) {
        return ok[0] ? 0 : 1;
    }
    return seq[1] > seq[0] ? 1 : 0;
}

int hard_state_open(struct io_fs *fs, struct hard_state_file **out,
                    struct craft_hard_state *loaded, char *errmsg, size_t errmsg_len)
{
    struct hard_state_file *h = craft_calloc(1, sizeof *h);
    if (h == NULL) {
        return CRAFT_ENOMEM;
    }
    h->fs = fs;
    int rv = open_file(fs, h);
    if (rv != 0) {
        snprintf(errmsg, errmsg_len, "open %s: %s", HARD_STATE_FILE, craft_strerror(rv));
        craft_free(h);
        return rv == CRAFT_ENOMEM ? rv : CRAFT_EIO;
    }
    uint64_t seq[2] = {0, 0};
    struct craft_hard_state hs[2];
    int rv0 = read_slot(h, 0, &seq[0], &hs[0]);
    int rv1 = read_slot(h, 1, &seq[1], &hs[1]);
    if ((rv0 != 0 && rv0 != CRAFT_ECORRUPT) || (rv1 != 0 && rv1 != CRAFT_ECORRUPT)) {
        snprintf(errmsg, errmsg_len, "read %s: %s", HARD_STATE_FILE, craft_strerror(CRAFT_EIO));
        hard_state_close(h);
        return CRAFT_EIO;
    }
    const int ok[2] = {rv0 == 0, rv1 == 0};
    int pick = pick_slot(ok, seq);
    if (pick < 0) {
        snprintf(errmsg, errmsg_len, "%s offset 0 and offset %u: both slots fail their checksum",
                 HARD_STATE_FILE, HARD_STATE_SLOT_STRIDE);
        hard_state_close(h);
        return CRAFT_ECORRUPT;
    }
    h->seq = seq[pick];
    unsigned other = 1u - (unsigned)pick;
    if (!ok[other] || seq[other] != seq[pick]) {
        /* One slot is damaged (a torn write or bit rot) or holds an older save (a save was cut
         * short): give it the recovered state again, so each slot keeps holding it and one more
         * fault cannot take it away. */
        rv = seq[pick] == 0 ? 0 : write_slot(h, other, seq[pick], &hs[pick]);
    } else {
        /* After a process crash the slots may be in the page cache only: what we hand out
         * must be durable before the core acts on it (a vote it sends again, say). */
        rv = io_fs_fdatasync(fs, h->file);
    }
    if (rv != 0) {
        snprintf(errmsg, errmsg_len, "repairing %s: %s", HARD_STATE_FILE, craft_strerror(rv));
        hard_state_close(h);
        return rv == CRAFT_ENOMEM ? rv : CRAFT_EIO;
    }
    *loaded = hs[pick];
    *out = h;
    return 0;
}

int hard_state_save(struct hard_state_file *h, const struct craft_hard_state *hs)
{
    if (h->failed) {
        return CRAFT_EIO;
    }
    uint64_t seq = h->seq + 1;
#ifdef CRAFT_MUTATION_HS_SINGLE_WRITE
    /* Injected bug: one write per save, alternating slots; rot of the newest slot then rolls
     * the state back to the save before it. */
    int rv = write_slot(h, (unsigned)(seq % 2), seq, hs);
#else
    /* Slot 0 first, then slot 1, each synced before the next: at every moment one slot holds
     * a whole state, and once this returns both hold this one. */
    int rv = write_slot(h, 0, seq, hs);
    if (rv == 0) {
        rv = write_slot(h, 1, seq, hs);
    }
#endif
    if (rv != 0) {
        h->failed = true;
        return rv == CRAFT_ENOSPC ? rv : CRAFT_EIO;
    }
    h->seq = seq;
    return 0;
}

void hard_state_close(struct hard_state_file *h)
{
    if (h == NULL) {
        return;
    }
    io_fs_close(h->fs, h->file);
    craft_free(h);
}
