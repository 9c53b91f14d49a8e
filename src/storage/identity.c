/* Claiming and checking the data directory's identity file. */
#include "identity.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/assert.h"
#include "util/byteorder.h"
#include "util/crc32c.h"

#define IDENTITY_TMP "identity.tmp"
#define IDENTITY_VERSION 1u

static const unsigned char identity_magic[8] = {'C', 'R', 'A', 'F', 'T', 'I', 'D', 0};

void identity_encode(craft_id node, uint64_t cluster, void *buf)
{
    CRAFT_ASSERT(node != CRAFT_ID_NONE);
    unsigned char *b = buf;
    memset(b, 0, IDENTITY_BYTES);
    memcpy(b, identity_magic, sizeof identity_magic);
    put_u32le(b + 8, IDENTITY_VERSION);
    put_u64le(b + 16, node);
    put_u64le(b + 24, cluster);
    put_u32le(b + 32, crc32c(0, b, 32));
}

int identity_decode(const void *buf, size_t len, craft_id *node, uint64_t *cluster)
{
    const unsigned char *b = buf;
    if (len != IDENTITY_BYTES || memcmp(b, identity_magic, sizeof identity_magic) != 0 ||
        get_u32le(b + 32) != crc32c(0, b, 32) || get_u32le(b + 8) != IDENTITY_VERSION ||
        get_u32le(b + 12) != 0 || get_u32le(b + 36) != 0) {
        return CRAFT_ECORRUPT;
    }
    *node = get_u64le(b + 16);
    *cluster = get_u64le(b + 24);
    return 0;
}

/* Any file of ours besides a leftover temporary one means the directory holds craft data. */
static int note_craft_file(void *arg, const char *name)
{
    if (strcmp(name, IDENTITY_TMP) != 0 && strcmp(name, IDENTITY_FILE) != 0) {
        *(int *)arg = 1;
    }
    return 0;
}

static int write_identity(struct io_fs *fs, craft_id node, uint64_t cluster)
{
    unsigned char buf[IDENTITY_BYTES];
    identity_encode(node, cluster, buf);
    struct io_file *f;
    int rv = io_fs_open(fs, IDENTITY_TMP, IO_FS_CREATE | IO_FS_TRUNC, &f);
    if (rv != 0) {
        return rv;
    }
    rv = io_fs_pwrite(fs, f, buf, sizeof buf, 0);
    if (rv == 0) {
        rv = io_fs_fdatasync(fs, f);
    }
    io_fs_close(fs, f);
    if (rv == 0) {
        rv = io_fs_rename(fs, IDENTITY_TMP, IDENTITY_FILE);
    }
    if (rv == 0) {
        rv = io_fs_sync_dir(fs);
    }
    return rv;
}

int identity_claim(struct io_fs *fs, craft_id node, uint64_t cluster, char *errmsg,
                   size_t errmsg_len)
{
    struct io_file *f;
    int rv = io_fs_open(fs, IDENTITY_FILE, 0, &f);
    if (rv == CRAFT_ENOTFOUND) {
        int other = 0;
        rv = io_fs_list(fs, note_craft_file, &other);
        if (rv == 0 && other) {
            snprintf(errmsg, errmsg_len,
                     "the data directory holds files but no identity file: refusing to use it");
            return CRAFT_ECORRUPT;
        }
        if (rv == 0) {
            rv = write_identity(fs, node, cluster);
        }
        if (rv != 0) {
            snprintf(errmsg, errmsg_len, "writing the identity file: %s", craft_strerror(rv));
            return rv == CRAFT_ENOSPC || rv == CRAFT_ENOMEM ? rv : CRAFT_EIO;
        }
        return 0;
    }
    if (rv != 0) {
        snprintf(errmsg, errmsg_len, "opening the identity file: %s", craft_strerror(rv));
        return CRAFT_EIO;
    }
    unsigned char buf[IDENTITY_BYTES + 1];
    size_t n_read = 0;
    rv = io_fs_pread(fs, f, buf, sizeof buf, 0, &n_read);
    io_fs_close(fs, f);
    if (rv != 0) {
        snprintf(errmsg, errmsg_len, "reading the identity file: %s", craft_strerror(rv));
        return CRAFT_EIO;
    }
    craft_id have_node;
    uint64_t have_cluster;
    if (identity_decode(buf, n_read, &have_node, &have_cluster) != 0) {
        snprintf(errmsg, errmsg_len, "the identity file is damaged (checksum or format)");
        return CRAFT_ECORRUPT;
    }
    if (have_node != node || have_cluster != cluster) {
        snprintf(errmsg, errmsg_len,
                 "the data directory belongs to node %" PRIu64 " of cluster %016" PRIx64
                 ", not node %" PRIu64 " of cluster %016" PRIx64,
                 have_node, have_cluster, node, cluster);
        return CRAFT_EMISMATCH;
    }
    return 0;
}
