/* Ties the identity check, hard state, WAL and snapshot store of one data directory together. */
#include "storage.h"

#include <stdio.h>
#include <string.h>

#include "hard_state.h"
#include "identity.h"
#include "util/alloc.h"
#include "util/assert.h"

struct storage {
    struct io_fs *fs;
    struct hard_state_file *hs_file; /* owned */
    struct wal *wal;                 /* owned */
    struct craft_hard_state saved;   /* what the hard state file holds */
    struct craft_hard_state latest;  /* the newest the core asked for */
    /* The last index of the durable WAL that no queued truncation takes back: the WAL's last
     * index as of the last completed sync, lowered by every truncation queued since. */
    craft_index durable_last;
    craft_index snapshot_index; /* the snapshot found at open covers up to here (0: none) */
    bool failed;                /* an I/O error happened: nothing more is written */
    char errmsg[256];
};

void storage_config_init(struct storage_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    wal_config_init(&cfg->wal);
}

int storage_open(struct io_fs *fs, const struct storage_config *cfg, struct storage **out,
                 struct storage_recovered *rec, char *errmsg, size_t errmsg_len)
{
    memset(rec, 0, sizeof *rec);
    struct storage *s = craft_calloc(1, sizeof *s);
    if (s == NULL) {
        return CRAFT_ENOMEM;
    }
    s->fs = fs;
    int rv = identity_claim(fs, cfg->node, cfg->cluster, errmsg, errmsg_len);
    if (rv != 0) {
        goto fail;
    }
    rv = hard_state_open(fs, &s->hs_file, &s->saved, errmsg, errmsg_len);
    if (rv != 0) {
        goto fail;
    }
    s->latest = s->saved;
    rv = snapshot_latest(fs, &rec->snapshot, &rec->have_snapshot);
    if (rv != 0) {
        snprintf(errmsg, errmsg_len, "looking for snapshots: %s", craft_strerror(rv));
        goto fail_hs;
    }
    /* The saved commit only ever covers entries that were durable here (see commit_durable), so
     * the log must reach it, unless a snapshot covers it. */
    craft_index committed = s->saved.commit;
    if (rec->have_snapshot && rec->snapshot.index >= committed) {
        committed = 0;
    }
    rv = wal_open_committed(fs, &cfg->wal, committed, &s->wal, &rec->wal, errmsg, errmsg_len);
    if (rv != 0) {
        goto fail_hs;
    }
    s->durable_last = wal_last_index(s->wal);
    s->snapshot_index = rec->have_snapshot ? rec->snapshot.index : 0;
    CRAFT_ASSERT(s->durable_last >= committed);
    rec->hard_state = s->saved;
    rec->entries = wal_recovered(s->wal, &rec->n_entries);
    *out = s;
    return 0;

fail_hs:
    hard_state_close(s->hs_file);
fail:
    craft_free(s);
    return rv;
}

void storage_recovered_release(struct storage *s)
{
    wal_recovered_release(s->wal);
}

static int fail(struct storage *s, int rv, const char *what)
{
    /* Once a write or sync failed, the disk's state is unknown: later writes (say, log entries of
     * a term whose hard state never landed) could make it inconsistent, so there are none. */
    s->failed = true;
    snprintf(s->errmsg, sizeof s->errmsg, "%s: %s", what,
             rv == CRAFT_EIO || rv == CRAFT_ENOSPC ? craft_strerror(rv) : wal_errmsg(s->wal));
    return rv;
}

/* The hard state as written: its commit is cut to what the WAL holds durably. A follower's core
 * commits up to the leader's commit as soon as the entries are in its volatile log, before they
 * are durable here; a saved commit above the durable log would make a later crash look like
 * lost committed entries, and recovery treats that as damage (wal_open_committed). Entries a
 * queued truncation takes back do not count either: until its sync, the durable log still
 * holds the old entries at those indexes, and a commit covering them would make a crash
 * recover them as committed (the core commits the new ones in the very step that truncates). */
static struct craft_hard_state commit_durable(const struct storage *s,
                                              const struct craft_hard_state *hs)
{
    struct craft_hard_state out = *hs;
    craft_index durable = s->durable_last > s->snapshot_index ? s->durable_last : s->snapshot_index;
    if (out.commit > durable) {
        out.commit = durable;
    }
    return out;
}

int storage_save_hard_state(struct storage *s, const struct craft_hard_state *hs)
{
    if (s->failed) {
        return CRAFT_EIO;
    }
    /* The core never takes a term back, nor changes a vote within a term (§5.1, §5.2). */
    CRAFT_ASSERT(hs->term >= s->latest.term);
    CRAFT_ASSERT(hs->term != s->saved.term || s->saved.vote == CRAFT_ID_NONE ||
                 hs->vote == s->saved.vote);
    s->latest = *hs;
    if (hs->term == s->saved.term && hs->vote == s->saved.vote) {
        return 0;
    }
    struct craft_hard_state w = commit_durable(s, hs);
    int rv = hard_state_save(s->hs_file, &w);
    if (rv != 0) {
        return fail(s, rv, "saving the hard state");
    }
    s->saved = w;
    return 0;
}

/* Queues the removal of the WAL's entries from `from` on. */
static int queue_truncate(struct storage *s, craft_index from)
{
    CRAFT_ASSERT(from >= 1);
    int rv = wal_truncate(s->wal, from);
    if (rv != 0) {
        return fail(s, rv, "truncating the log");
    }
    if (s->durable_last >= from) {
        s->durable_last = from - 1;
    }
    return 0;
}

int storage_queue_log(struct storage *s, craft_index truncate_from,
                      const struct craft_entry *entries, size_t n)
{
    if (s->failed) {
        return CRAFT_EIO;
    }
    if (truncate_from != 0) {
        int rv = queue_truncate(s, truncate_from);
        if (rv != 0) {
            return rv;
        }
    }
    for (size_t i = 1; i < n; i++) {
        CRAFT_ASSERT(entries[i].index == entries[i - 1].index + 1); /* a contiguous run */
        CRAFT_ASSERT(entries[i].term >= entries[i - 1].term);       /* terms never fall */
    }
    CRAFT_ASSERT(n == 0 || truncate_from == 0 || entries[0].index == truncate_from);
    if (n > 0) {
        int rv = wal_append(s->wal, entries, n);
        if (rv != 0) {
            return fail(s, rv, "appending to the log");
        }
    }
    return 0;
}

int storage_persist(struct storage *s, const struct craft_persist *p)
{
    /* The log changes are only queued (nothing reaches the disk before storage_write or
     * storage_sync), so the hard state saved next is still durable before any of them; queued
     * first, a truncation lowers the commit that save may write (see commit_durable). */
    int rv = storage_queue_log(s, p->truncate_from, p->entries, p->n_entries);
    if (rv == 0 && p->hard_state_changed) {
        rv = storage_save_hard_state(s, &p->hard_state);
    }
    return rv;
}

int storage_write(struct storage *s)
{
    if (s->failed) {
        return CRAFT_EIO;
    }
    int rv = wal_write(s->wal);
    return rv != 0 ? fail(s, rv, "writing the log") : 0;
}

int storage_sync(struct storage *s)
{
    if (s->failed) {
        return CRAFT_EIO;
    }
    int rv = wal_sync(s->wal);
    if (rv != 0) {
        return fail(s, rv, "syncing the log");
    }
    s->durable_last = wal_last_index(s->wal);
    return 0;
}

void storage_close(struct storage *s)
{
    if (s == NULL) {
        return;
    }
    struct craft_hard_state hs = commit_durable(s, &s->latest);
    if (!s->failed && hs.commit > s->saved.commit) {
        int rv = hard_state_save(s->hs_file, &hs);
        (void)rv; /* a lost commit hint costs a re-apply, nothing more */
    }
    wal_close(s->wal);
    hard_state_close(s->hs_file);
    craft_free(s);
}

const char *storage_errmsg(const struct storage *s)
{
    return s->errmsg;
}

bool storage_failed(const struct storage *s)
{
    return s->failed;
}

struct wal *storage_wal(struct storage *s)
{
    return s->wal;
}
