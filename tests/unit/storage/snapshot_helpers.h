/* Pieces the snapshot tests share: metadata, a recognisable image written with the real writer,
 * and reading an image back whole. Include after <cmocka.h>. Header-only. */
#ifndef CRAFT_TESTS_SNAPSHOT_HELPERS_H
#define CRAFT_TESTS_SNAPSHOT_HELPERS_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "storage/snapshot_store.h"

/* Byte i of the image of a snapshot drawn with salt (two salts give different images). */
static inline unsigned char snap_image_byte(size_t i, unsigned salt)
{
    return (unsigned char)(i * 131 + (i >> 11) + salt * 7);
}

/* Voters 1..n_voters, nothing else. */
static inline struct craft_snapshot_meta snap_meta(craft_index index, craft_term term,
                                                   unsigned n_voters)
{
    struct craft_snapshot_meta m;
    memset(&m, 0, sizeof m);
    m.index = index;
    m.term = term;
    m.membership.n_voters = n_voters;
    for (unsigned i = 0; i < n_voters; i++) {
        m.membership.voters[i] = i + 1;
    }
    return m;
}

/* Writes a snapshot of bytes image bytes (salted) with snapshot_writer, in writes of 10000. */
static inline int snap_write(struct io_fs *fs, const struct craft_snapshot_meta *m, size_t bytes,
                             unsigned salt)
{
    struct snapshot_writer *w;
    int rv = snapshot_writer_begin(fs, m, &w);
    if (rv != 0) {
        return rv;
    }
    static unsigned char buf[10000];
    for (size_t off = 0; off < bytes && rv == 0; off += sizeof buf) {
        size_t n = bytes - off < sizeof buf ? bytes - off : sizeof buf;
        for (size_t i = 0; i < n; i++) {
            buf[i] = snap_image_byte(off + i, salt);
        }
        rv = snapshot_writer_write(w, buf, n);
    }
    if (rv != 0) {
        snapshot_writer_abort(w);
        return rv;
    }
    return snapshot_writer_finish(w);
}

/* Reads the image of (index, term) to its end: 0 if every byte is that of salt and the length
 * is bytes; else the reader's error (its text in errmsg: it wins, since bytes are checked chunk
 * by chunk and the whole file only at its end), or CRAFT_EINVAL for wrong content. */
static inline int snap_read_check(struct io_fs *fs, craft_index index, craft_term term,
                                  size_t bytes, unsigned salt, char *errmsg, size_t errmsg_len)
{
    struct snapshot_reader *r;
    struct craft_snapshot_meta meta;
    int rv = snapshot_reader_open(fs, index, term, &r, &meta);
    if (rv != 0) {
        snprintf(errmsg, errmsg_len, "open: %s", craft_errname(rv));
        return rv;
    }
    static unsigned char buf[70001];
    size_t total = 0;
    bool differs = false;
    for (;;) {
        size_t n;
        rv = snapshot_reader_read(r, buf, sizeof buf, &n);
        if (rv != 0) {
            snprintf(errmsg, errmsg_len, "%s", snapshot_reader_errmsg(r));
            break;
        }
        if (n == 0) {
            break;
        }
        for (size_t i = 0; i < n && !differs; i++) {
            if (buf[i] != snap_image_byte(total + i, salt)) {
                snprintf(errmsg, errmsg_len, "image byte %zu differs", total + i);
                differs = true;
            }
        }
        total += n;
    }
    snapshot_reader_close(r);
    if (rv == 0 && !differs && total != bytes) {
        snprintf(errmsg, errmsg_len, "image of %zu bytes, want %zu", total, bytes);
        differs = true;
    }
    return rv != 0 ? rv : differs ? CRAFT_EINVAL : 0;
}

#endif
