/* Ties the identity check, hard state, WAL and snapshot store of one data directory together. */
#include "storage.h"

#include <stdio.h>
#include <string.h>

#include "hard_state.h"
#include "identity.h"
#include "snapshot_suffix.h"
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
    /* The newest durable snapshot covers the log up to here (0: none): found at open, raised by
     * an installed one (storage_queue_log) and a local one (storage_snapshot_taken). */
    craft_index snapshot_index;
    bool failed; /* an I/O error happened: nothing more is written */
    char errmsg[256];
};

void storage_config_init(struct storage_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    wal_config_init(&cfg->wal);
}

/* Hands back the recovered entries that continue the snapshot (snapshot_suffix.c); when the WAL
 * holds entries that do not, it is emptied (a truncation queued and synced) so the next append
 * may start right after the snapshot. */
static int recover_suffix(struct storage *s, struct storage_recovered *rec, char *errmsg,
                          size_t errmsg_len)
{
    struct snapshot_suffix_in in = {
        .wal_first = wal_first_index(s->wal),
        .wal_last = wal_last_index(s->wal),
        .snapshot_index = s->snapshot_index,
        .snapshot_term = rec->have_snapshot ? rec->snapshot.term : 0,
        .commit = s->saved.commit,
    };
    in.wal_term_at_snapshot = wal_term_at(s->wal, in.snapshot_index);
    struct snapshot_suffix suffix;
    int rv = snapshot_suffix_find(&in, &suffix, errmsg, errmsg_len);
    if (rv != 0) {
        return rv;
    }
    size_t n;
    const struct craft_entry *entries = wal_recovered(s->wal, &n);
    CRAFT_ASSERT(n == (in.wal_last == 0 ? 0 : in.wal_last - in.wal_first + 1));
    if (suffix.from != 0) {
        CRAFT_ASSERT(suffix.from >= in.wal_first);
        CRAFT_ASSERT(suffix.from <= in.wal_last);
        size_t skip = (size_t)(suffix.from - in.wal_first);
        rec->entries = entries + skip;
        rec->n_entries = n - skip;
        CRAFT_ASSERT(rec->entries[0].index == suffix.from);
    }
    if (suffix.empty_wal) {
        rv = wal_truncate(s->wal, in.wal_first);
        if (rv == 0) {
            rv = wal_sync(s->wal);
        }
        if (rv != 0) {
            snprintf(errmsg, errmsg_len, "emptying the WAL after snapshot %llu: %s",
                     (unsigned long long)in.snapshot_index, wal_errmsg(s->wal));
            return rv;
        }
        CRAFT_ASSERT(wal_last_index(s->wal) == 0);
    }
    return 0;
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
     * the log must reach it, unless a snapshot covers it; damage before an entry it covers is
     * damage either way (a rot in a durable batch must not pass for a torn tail). */
    craft_index committed = s->saved.commit;
    craft_index covered = rec->have_snapshot ? rec->snapshot.index : 0;
    rv = wal_open_covered(fs, &cfg->wal, committed, covered, &s->wal, &rec->wal, errmsg,
                          errmsg_len);
    if (rv != 0) {
        goto fail_hs;
    }
    CRAFT_ASSERT(committed <= covered || wal_last_index(s->wal) >= committed);
    s->snapshot_index = rec->have_snapshot ? rec->snapshot.index : 0;
    rv = recover_suffix(s, rec, errmsg, errmsg_len);
    if (rv != 0) {
        goto fail_wal;
    }
    s->durable_last = wal_last_index(s->wal);
    rec->hard_state = s->saved;
    *out = s;
    return 0;

fail_wal:
    wal_close(s->wal);
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
    craft_index first = wal_first_index(s->wal);
    if (first != 0 && from < first) {
        /* A snapshot's prefix drop came first (a write queued before it runs after it): what
         * lies below the WAL's start is covered, removing from there removes all it holds. */
        from = first;
    }
    int rv = wal_truncate(s->wal, from);
    if (rv != 0) {
        return fail(s, rv, "truncating the log");
    }
    if (s->durable_last >= from) {
        s->durable_last = from - 1;
    }
    return 0;
}

/* An installed snapshot's effect on the log (struct craft_persist_snapshot): its index covers
 * what the saved commit may reach; with drop_log, nothing of the WAL is kept. */
static int queue_snapshot(struct storage *s, const struct craft_persist_snapshot *snap)
{
    CRAFT_ASSERT(snap->term != 0);
    if (snap->index > s->snapshot_index) {
        s->snapshot_index = snap->index;
    }
    if (snap->drop_log) {
        return wal_last_index(s->wal) != 0 ? queue_truncate(s, wal_first_index(s->wal)) : 0;
    }
    /* Kept, the log must continue the snapshot: hold its entry, or be empty, or start after it
     * (its prefix dropped). */
    craft_term t = wal_term_at(s->wal, snap->index);
    CRAFT_ASSERT(t == 0 || t == snap->term);
    CRAFT_ASSERT(wal_last_index(s->wal) == 0 || wal_last_index(s->wal) >= snap->index);
    return 0;
}

int storage_queue_log(struct storage *s, const struct craft_persist *p)
{
    if (s->failed) {
        return CRAFT_EIO;
    }
    if (p->snapshot.index != 0) {
        int rv = queue_snapshot(s, &p->snapshot);
        if (rv != 0) {
            return rv;
        }
    }
    if (p->truncate_from != 0) {
        int rv = queue_truncate(s, p->truncate_from);
        if (rv != 0) {
            return rv;
        }
    }
    const struct craft_entry *entries = p->entries;
    size_t n = p->n_entries;
    for (size_t i = 1; i < n; i++) {
        CRAFT_ASSERT(entries[i].index == entries[i - 1].index + 1); /* a contiguous run */
        CRAFT_ASSERT(entries[i].term >= entries[i - 1].term);       /* terms never fall */
    }
    CRAFT_ASSERT(n == 0 || p->truncate_from == 0 || entries[0].index == p->truncate_from);
    CRAFT_ASSERT(n == 0 || !p->snapshot.drop_log || entries[0].index == p->snapshot.index + 1);
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
    int rv = storage_queue_log(s, p);
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

int storage_snapshot_taken(struct storage *s, const struct craft_snapshot_meta *m)
{
    if (s->failed) {
        return CRAFT_EIO;
    }
    CRAFT_ASSERT(m->index != 0);
    CRAFT_ASSERT(m->term != 0);
    if (m->index > s->snapshot_index) {
        s->snapshot_index = m->index;
    }
    /* An entry of another term at the snapshot's index is a divergent, never committed suffix
     * (an install's drop_log empties the WAL soon). Dropping the segments before it could leave
     * a WAL starting right after the snapshot with entries that do not continue it, which
     * recovery would take; so nothing goes. */
    craft_term t = wal_term_at(s->wal, m->index);
    if (t != 0 && t != m->term) {
        return 0;
    }
    /* Whole segments go only once what follows them is durable: a crash must not leave a WAL
     * that starts after a gap (queued entries lost, the older ones they replace deleted). */
    int rv = storage_sync(s);
    if (rv != 0) {
        return rv;
    }
    rv = wal_drop_prefix(s->wal, m->index);
    return rv != 0 ? fail(s, rv, "dropping the log's prefix") : 0;
}

craft_index storage_snapshot_index(const struct storage *s)
{
    return s->snapshot_index;
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
