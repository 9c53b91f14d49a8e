/* Ties the identity check, the WAL (every group's log and hard state) and the snapshot store of
 * one data directory together. */
#include "storage.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "identity.h"
#include "snapshot_suffix.h"
#include "util/alloc.h"
#include "util/assert.h"

/* One Raft group's books. */
struct storage_group {
    uint64_t id;
    struct craft_hard_state saved;  /* the newest hard state handed to the WAL (or recovered) */
    struct craft_hard_state latest; /* the newest the core asked for */
    bool hs_dirty;                  /* latest is not what saved holds: on s->dirty */
    bool hs_must; /* ... and its term or vote differs: it goes out with the next batch */
    bool touched; /* log changes queued since the last write: on s->touched */
    bool written; /* log changes written, their sync not yet ended: on s->written */
    /* The last index of the group's durable log that no queued truncation takes back: its last
     * index as of the last completed sync, lowered by every truncation queued since. */
    craft_index durable_last;
    /* What durable_last becomes when the written batch's sync ends: the last index as of that
     * write, lowered by every truncation queued since (the next batch may be queued while the
     * sync runs, storage_sync_begin). */
    craft_index written_last;
    /* The group's newest durable snapshot covers its log up to here (0: none): found at open,
     * raised by an installed one (storage_queue_log_group) and a local one
     * (storage_snapshot_taken_group). */
    craft_index snapshot_index;
    /* What open recovered for the group (entries borrowed from the WAL until released). */
    bool have_snapshot;
    struct craft_snapshot_meta snapshot;
    const struct craft_entry *entries;
    size_t n_entries;
};

struct storage {
    struct io_fs *fs;
    struct wal *wal;               /* owned */
    struct storage_group **groups; /* sorted by id; each owned */
    size_t n_groups;
    size_t cap_groups;
    struct storage_group **dirty; /* groups whose hard state waits for a batch. Owned */
    size_t n_dirty;
    size_t cap_dirty;
    struct storage_group **touched; /* groups with log changes since the last write. Owned */
    size_t n_touched;
    size_t cap_touched;
    struct storage_group **written; /* groups with log changes written, not yet synced. Owned */
    size_t n_written;
    size_t cap_written;
    struct wal_open_report report;
    bool unsynced; /* storage_write wrote a batch that storage_sync has not yet covered */
    bool failed;   /* an I/O error happened: nothing more is written */
    char errmsg[256];
};

void storage_config_init(struct storage_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    wal_config_init(&cfg->wal);
}

static size_t group_pos(const struct storage *s, uint64_t id)
{
    size_t lo = 0;
    size_t hi = s->n_groups;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->groups[mid]->id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static struct storage_group *group_get(const struct storage *s, uint64_t id)
{
    size_t i = group_pos(s, id);
    return i < s->n_groups && s->groups[i]->id == id ? s->groups[i] : NULL;
}

/* The group with this id, made (empty) on first use: NULL only when out of memory. */
static struct storage_group *group_make(struct storage *s, uint64_t id)
{
    CRAFT_ASSERT(id != 0);
    size_t i = group_pos(s, id);
    if (i < s->n_groups && s->groups[i]->id == id) {
        return s->groups[i];
    }
    if (s->n_groups == s->cap_groups) {
        size_t cap = s->cap_groups == 0 ? 4 : s->cap_groups * 2;
        struct storage_group **groups = craft_realloc(s->groups, cap * sizeof *groups);
        if (groups == NULL) {
            return NULL;
        }
        s->groups = groups;
        s->cap_groups = cap;
    }
    struct storage_group *g = craft_calloc(1, sizeof *g);
    if (g == NULL) {
        return NULL;
    }
    g->id = id;
    memmove(s->groups + i + 1, s->groups + i, (s->n_groups - i) * sizeof *s->groups);
    s->groups[i] = g;
    s->n_groups++;
    return g;
}

static int list_push(struct storage_group ***v, size_t *n, size_t *cap, struct storage_group *g)
{
    if (*n == *cap) {
        size_t c = *cap == 0 ? 8 : *cap * 2;
        struct storage_group **nv = craft_realloc(*v, c * sizeof **v);
        if (nv == NULL) {
            return CRAFT_ENOMEM;
        }
        *v = nv;
        *cap = c;
    }
    (*v)[(*n)++] = g;
    return 0;
}

/* Hands back group g's recovered entries that continue its snapshot (snapshot_suffix.c); when
 * the WAL holds entries of g that do not, a truncation of all of them is queued (*queued set),
 * so the next append may start right after the snapshot. */
static int recover_suffix(struct storage *s, struct storage_group *g, bool *queued, char *errmsg,
                          size_t errmsg_len)
{
    struct snapshot_suffix_in in = {
        .wal_first = wal_first_index_group(s->wal, g->id),
        .wal_last = wal_last_index_group(s->wal, g->id),
        .snapshot_index = g->snapshot_index,
        .snapshot_term = g->have_snapshot ? g->snapshot.term : 0,
        .commit = g->saved.commit,
    };
    in.wal_term_at_snapshot = wal_term_at_group(s->wal, g->id, in.snapshot_index);
    struct snapshot_suffix suffix;
    int rv = snapshot_suffix_find(&in, &suffix, errmsg, errmsg_len);
    if (rv != 0) {
        if (g->id != STORAGE_GROUP_DEFAULT) {
            size_t len = strlen(errmsg);
            snprintf(errmsg + len, errmsg_len - len, " (group %" PRIu64 ")", g->id);
        }
        return rv;
    }
    size_t n;
    const struct craft_entry *entries = wal_recovered_group(s->wal, g->id, &n);
    CRAFT_ASSERT(n == (in.wal_last == 0 ? 0 : in.wal_last - in.wal_first + 1));
    if (suffix.from != 0) {
        CRAFT_ASSERT(suffix.from >= in.wal_first);
        CRAFT_ASSERT(suffix.from <= in.wal_last);
        size_t skip = (size_t)(suffix.from - in.wal_first);
        g->entries = entries + skip;
        g->n_entries = n - skip;
        CRAFT_ASSERT(g->entries[0].index == suffix.from);
    }
    if (suffix.empty_wal) {
        rv = wal_truncate_group(s->wal, g->id, in.wal_first);
        if (rv != 0) {
            snprintf(errmsg, errmsg_len,
                     "emptying group %" PRIu64 "'s log after snapshot %" PRIu64 ": %s", g->id,
                     in.snapshot_index, wal_errmsg(s->wal));
            return rv;
        }
        CRAFT_ASSERT(wal_last_index_group(s->wal, g->id) == 0);
        *queued = true;
    }
    return 0;
}

/* Finds every group's newest snapshot and makes its books. */
static int find_snapshots(struct storage *s, struct wal_group_cover **covers, size_t *n_covers,
                          char *errmsg, size_t errmsg_len)
{
    struct snapshot_group_meta *snaps = NULL;
    size_t n = 0;
    int rv = snapshot_latest_all(s->fs, &snaps, &n);
    if (rv != 0) {
        snprintf(errmsg, errmsg_len, "looking for snapshots: %s", craft_strerror(rv));
        return rv;
    }
    *covers = craft_calloc(n + 1, sizeof **covers);
    if (*covers == NULL) {
        craft_free(snaps);
        return CRAFT_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        struct storage_group *g = group_make(s, snaps[i].group);
        if (g == NULL) {
            craft_free(snaps);
            return CRAFT_ENOMEM;
        }
        g->have_snapshot = true;
        g->snapshot = snaps[i].meta;
        g->snapshot_index = snaps[i].meta.index;
        (*covers)[i] = (struct wal_group_cover){.group = g->id, .covered = g->snapshot_index};
    }
    *n_covers = n;
    craft_free(snaps);
    return 0;
}

/* After the WAL is open: every group it holds gets its books, its hard state (the newest record)
 * and the part of its log that continues its snapshot. */
static int recover_groups(struct storage *s, char *errmsg, size_t errmsg_len)
{
    for (size_t i = 0; i < wal_n_groups(s->wal); i++) {
        if (group_make(s, wal_group_id(s->wal, i)) == NULL) {
            return CRAFT_ENOMEM;
        }
    }
    bool queued = false;
    for (size_t i = 0; i < s->n_groups; i++) {
        struct storage_group *g = s->groups[i];
        (void)wal_hard_state_group(s->wal, g->id, &g->saved);
        g->latest = g->saved;
        /* The saved commit only ever covers entries that were durable here (commit_durable),
         * so the log reaches it unless the snapshot covers it (checked by wal_open_groups). */
        CRAFT_ASSERT(g->saved.commit <= g->snapshot_index ||
                     wal_last_index_group(s->wal, g->id) >= g->saved.commit);
        int rv = recover_suffix(s, g, &queued, errmsg, errmsg_len);
        if (rv != 0) {
            return rv;
        }
    }
    if (queued) {
        int rv = wal_sync(s->wal);
        if (rv != 0) {
            snprintf(errmsg, errmsg_len, "emptying a log after its snapshot: %s",
                     wal_errmsg(s->wal));
            return rv;
        }
    }
    for (size_t i = 0; i < s->n_groups; i++) {
        s->groups[i]->durable_last = wal_last_index_group(s->wal, s->groups[i]->id);
    }
    return 0;
}

static void groups_free(struct storage *s)
{
    for (size_t i = 0; i < s->n_groups; i++) {
        craft_free(s->groups[i]);
    }
    craft_free(s->groups);
    craft_free(s->dirty);
    craft_free(s->touched);
    craft_free(s->written);
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
    struct wal_group_cover *covers = NULL;
    size_t n_covers = 0;
    int rv = identity_claim(fs, cfg->node, cfg->cluster, errmsg, errmsg_len);
    if (rv != 0) {
        goto fail;
    }
    rv = find_snapshots(s, &covers, &n_covers, errmsg, errmsg_len);
    if (rv != 0) {
        goto fail;
    }
    /* Each group's newest hard-state record says how far its log was durable; damage before an
     * entry it covers is damage even where a snapshot covers the commit (a rot in a durable
     * batch must not pass for a torn tail). */
    rv = wal_open_groups(fs, &cfg->wal, covers, n_covers, &s->wal, &s->report, errmsg, errmsg_len);
    if (rv != 0) {
        goto fail;
    }
    rv = recover_groups(s, errmsg, errmsg_len);
    if (rv != 0) {
        goto fail_wal;
    }
    craft_free(covers);
    *out = s;
    bool found = storage_recovered_group(s, STORAGE_GROUP_DEFAULT, rec);
    (void)found; /* a new directory: nothing recovered, all zero */
    return 0;

fail_wal:
    wal_close(s->wal);
fail:
    craft_free(covers);
    groups_free(s);
    craft_free(s);
    return rv;
}

bool storage_recovered_group(const struct storage *s, uint64_t group, struct storage_recovered *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->wal = s->report;
    const struct storage_group *g = group_get(s, group);
    if (g == NULL) {
        return false;
    }
    rec->hard_state = g->saved;
    rec->have_snapshot = g->have_snapshot;
    if (g->have_snapshot) {
        rec->snapshot = g->snapshot;
    }
    rec->entries = g->entries;
    rec->n_entries = g->n_entries;
    return true;
}

size_t storage_n_groups(const struct storage *s)
{
    return s->n_groups;
}

uint64_t storage_group_id(const struct storage *s, size_t i)
{
    CRAFT_ASSERT(i < s->n_groups);
    return s->groups[i]->id;
}

void storage_recovered_release(struct storage *s)
{
    wal_recovered_release(s->wal);
    for (size_t i = 0; i < s->n_groups; i++) {
        s->groups[i]->entries = NULL;
        s->groups[i]->n_entries = 0;
    }
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

/* The hard state as written: its commit is cut to what the group's log holds durably. A
 * follower's core commits up to the leader's commit as soon as the entries are in its volatile
 * log, before they are durable here; a saved commit above the durable log would make a later
 * crash look like lost committed entries, and recovery treats that as damage. Entries a queued
 * truncation takes back do not count either: until its sync, the durable log still holds the old
 * entries at those indexes, and a commit covering them would make a crash recover them as
 * committed (the core commits the new ones in the very step that truncates). */
static struct craft_hard_state commit_durable(const struct storage_group *g,
                                              const struct craft_hard_state *hs)
{
    struct craft_hard_state out = *hs;
    craft_index durable = g->durable_last > g->snapshot_index ? g->durable_last : g->snapshot_index;
    if (out.commit > durable) {
        out.commit = durable;
    }
    return out;
}

static struct storage_group *group_for_write(struct storage *s, uint64_t group)
{
    struct storage_group *g = group_make(s, group);
    if (g == NULL) {
        snprintf(s->errmsg, sizeof s->errmsg, "out of memory for group %" PRIu64, group);
    }
    return g;
}

static int mark_touched(struct storage *s, struct storage_group *g)
{
    if (g->touched) {
        return 0;
    }
    int rv = list_push(&s->touched, &s->n_touched, &s->cap_touched, g);
    if (rv == 0) {
        g->touched = true;
    }
    return rv;
}

int storage_save_hard_state_group(struct storage *s, uint64_t group,
                                  const struct craft_hard_state *hs)
{
    if (s->failed) {
        return CRAFT_EIO;
    }
    struct storage_group *g = group_for_write(s, group);
    if (g == NULL) {
        return CRAFT_ENOMEM;
    }
    /* The core never takes a term back, nor changes a vote within a term (§5.1, §5.2). */
    CRAFT_ASSERT(hs->term >= g->latest.term);
    CRAFT_ASSERT(hs->term != g->saved.term || g->saved.vote == CRAFT_ID_NONE ||
                 hs->vote == g->saved.vote);
    g->latest = *hs;
    bool must = hs->term != g->saved.term || hs->vote != g->saved.vote;
    if (!must && hs->commit == g->saved.commit) {
        return 0;
    }
    if (!g->hs_dirty) {
        int rv = list_push(&s->dirty, &s->n_dirty, &s->cap_dirty, g);
        if (rv != 0) {
            return rv;
        }
        g->hs_dirty = true;
    }
    g->hs_must = g->hs_must || must;
    return 0;
}

int storage_save_hard_state(struct storage *s, const struct craft_hard_state *hs)
{
    return storage_save_hard_state_group(s, STORAGE_GROUP_DEFAULT, hs);
}

/* Hands the waiting hard states to the WAL, which writes them at the head of the batch: those
 * with a new term or vote always (they start a batch of their own if nothing else is queued), a
 * new commit alone only with a batch that goes out anyway (commit is a hint on restart, not
 * worth a sync of its own), or when `all` (closing). Their commit is cut now, when every
 * truncation of the batch is known (commit_durable). */
static int flush_hard_states(struct storage *s, bool all)
{
    bool go = all || wal_has_pending(s->wal);
    /* A new term or vote makes a batch of its own when nothing else is queued: a vote alone is
     * sent only once durable. (The mutation hs_waits_for_entries leaves it waiting for entries
     * to ride with, so the core sends a vote that no crash keeps.) */
#ifndef CRAFT_MUTATION_HS_WAITS_FOR_ENTRIES
    for (size_t i = 0; i < s->n_dirty && !go; i++) {
        go = s->dirty[i]->hs_must;
    }
#endif
    if (!go) {
        return 0;
    }
    size_t keep = 0;
    for (size_t i = 0; i < s->n_dirty; i++) {
        struct storage_group *g = s->dirty[i];
        struct craft_hard_state w = commit_durable(g, &g->latest);
        if (g->hs_must || w.commit != g->saved.commit) {
            int rv = wal_save_hard_state_group(s->wal, g->id, &w);
            if (rv != 0) {
                return fail(s, rv, "saving the hard state");
            }
            g->saved = w;
        }
        g->hs_must = false;
        g->hs_dirty = w.commit != g->latest.commit; /* the rest of the commit waits for its log */
        if (g->hs_dirty) {
            s->dirty[keep++] = g;
        }
    }
    s->n_dirty = keep;
    return 0;
}

/* Queues the removal of group g's entries from `from` on. */
static int queue_truncate(struct storage *s, struct storage_group *g, craft_index from)
{
    CRAFT_ASSERT(from >= 1);
    craft_index first = wal_first_index_group(s->wal, g->id);
    if (first != 0 && from < first) {
        /* A snapshot's prefix drop came first (a write queued before it runs after it): what
         * lies below the WAL's start is covered, removing from there removes all it holds. */
        from = first;
    }
    int rv = wal_truncate_group(s->wal, g->id, from);
    if (rv != 0) {
        return fail(s, rv, "truncating the log");
    }
    if (g->durable_last >= from) {
        g->durable_last = from - 1;
    }
    if (g->written && g->written_last >= from) {
        g->written_last = from - 1; /* the written entries from `from` on are taken back */
    }
    return 0;
}

/* An installed snapshot's effect on the log (struct craft_persist_snapshot): its index covers
 * what the saved commit may reach; with drop_log, nothing of the group's log is kept. */
static int queue_snapshot(struct storage *s, struct storage_group *g,
                          const struct craft_persist_snapshot *snap)
{
    CRAFT_ASSERT(snap->term != 0);
    if (snap->index > g->snapshot_index) {
        g->snapshot_index = snap->index;
    }
    if (snap->drop_log) {
        return wal_last_index_group(s->wal, g->id) != 0
                   ? queue_truncate(s, g, wal_first_index_group(s->wal, g->id))
                   : 0;
    }
    /* Kept, the log must continue the snapshot: hold its entry, or be empty, or start after it
     * (its prefix dropped). */
    craft_term t = wal_term_at_group(s->wal, g->id, snap->index);
    CRAFT_ASSERT(t == 0 || t == snap->term);
    CRAFT_ASSERT(wal_last_index_group(s->wal, g->id) == 0 ||
                 wal_last_index_group(s->wal, g->id) >= snap->index);
    return 0;
}

int storage_queue_log_group(struct storage *s, uint64_t group, const struct craft_persist *p)
{
    if (s->failed) {
        return CRAFT_EIO;
    }
    if (p->snapshot.index == 0 && p->truncate_from == 0 && p->n_entries == 0) {
        return 0;
    }
    struct storage_group *g = group_for_write(s, group);
    if (g == NULL || mark_touched(s, g) != 0) {
        return CRAFT_ENOMEM;
    }
    if (p->snapshot.index != 0) {
        int rv = queue_snapshot(s, g, &p->snapshot);
        if (rv != 0) {
            return rv;
        }
    }
    if (p->truncate_from != 0) {
        int rv = queue_truncate(s, g, p->truncate_from);
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
        int rv = wal_append_group(s->wal, group, entries, n);
        if (rv != 0) {
            return fail(s, rv, "appending to the log");
        }
    }
    return 0;
}

int storage_queue_log(struct storage *s, const struct craft_persist *p)
{
    return storage_queue_log_group(s, STORAGE_GROUP_DEFAULT, p);
}

int storage_persist_group(struct storage *s, uint64_t group, const struct craft_persist *p)
{
    int rv = storage_queue_log_group(s, group, p);
    if (rv == 0 && p->hard_state_changed) {
        rv = storage_save_hard_state_group(s, group, &p->hard_state);
    }
    return rv;
}

int storage_persist(struct storage *s, const struct craft_persist *p)
{
    return storage_persist_group(s, STORAGE_GROUP_DEFAULT, p);
}

int storage_write(struct storage *s)
{
    if (s->failed) {
        return CRAFT_EIO;
    }
    int rv = flush_hard_states(s, false);
    if (rv != 0) {
        return rv;
    }
    /* The touched groups' logs as written wait for the sync that ends this write; listed before
     * it, so nothing can fail after it. */
    for (size_t i = 0; i < s->n_touched; i++) {
        struct storage_group *g = s->touched[i];
        if (!g->written) {
            rv = list_push(&s->written, &s->n_written, &s->cap_written, g);
            if (rv != 0) {
                return rv;
            }
            g->written = true;
            g->written_last = g->durable_last;
        }
    }
    rv = wal_write(s->wal);
    if (rv != 0) {
        return fail(s, rv, "writing the log");
    }
    for (size_t i = 0; i < s->n_touched; i++) {
        struct storage_group *g = s->touched[i];
        g->written_last = wal_last_index_group(s->wal, g->id);
        g->touched = false;
    }
    s->n_touched = 0;
    s->unsynced = true;
    return 0;
}

/* The written logs are durable: the sync that ended the write succeeded, or it wrote nothing. */
static void written_durable(struct storage *s)
{
    for (size_t i = 0; i < s->n_written; i++) {
        struct storage_group *g = s->written[i];
        g->durable_last = g->written_last;
        g->written = false;
    }
    s->n_written = 0;
    s->unsynced = false;
}

bool storage_sync_begin(struct storage *s, struct storage_sync_job *job)
{
    if (s->failed) {
        return false;
    }
    job->fs = s->fs;
    job->file = wal_sync_begin(s->wal);
    if (job->file == NULL) {
        written_durable(s);
    }
    return job->file != NULL;
}

int storage_sync_run(const struct storage_sync_job *job)
{
    return io_fs_fdatasync(job->fs, job->file);
}

int storage_sync_end(struct storage *s, int rv)
{
    rv = wal_sync_end(s->wal, rv);
    if (rv != 0) {
        return fail(s, rv, "syncing the log");
    }
    written_durable(s);
    return 0;
}

int storage_sync(struct storage *s)
{
    int rv = storage_write(s);
    if (rv != 0) {
        return rv;
    }
    struct storage_sync_job job;
    if (!storage_sync_begin(s, &job)) {
        return s->failed ? CRAFT_EIO : 0;
    }
    return storage_sync_end(s, storage_sync_run(&job));
}

int storage_snapshot_taken_group(struct storage *s, uint64_t group,
                                 const struct craft_snapshot_meta *m)
{
    if (s->failed) {
        return CRAFT_EIO;
    }
    CRAFT_ASSERT(m->index != 0);
    CRAFT_ASSERT(m->term != 0);
    struct storage_group *g = group_for_write(s, group);
    if (g == NULL) {
        return CRAFT_ENOMEM;
    }
    if (m->index > g->snapshot_index) {
        g->snapshot_index = m->index;
    }
    /* An entry of another term at the snapshot's index is a divergent, never committed suffix
     * (an install's drop_log empties the log soon). Dropping the segments before it could leave
     * a log starting right after the snapshot with entries that do not continue it, which
     * recovery would take; so nothing goes. */
    craft_term t = wal_term_at_group(s->wal, group, m->index);
    if (t != 0 && t != m->term) {
        return 0;
    }
    /* Whole segments go only once what follows them is durable: a crash must not leave a WAL
     * that starts after a gap (queued entries lost, the older ones they replace deleted). */
    int rv = storage_sync(s);
    if (rv != 0) {
        return rv;
    }
    rv = wal_drop_prefix_group(s->wal, group, m->index);
    return rv != 0 ? fail(s, rv, "dropping the log's prefix") : 0;
}

int storage_snapshot_taken(struct storage *s, const struct craft_snapshot_meta *m)
{
    return storage_snapshot_taken_group(s, STORAGE_GROUP_DEFAULT, m);
}

craft_index storage_snapshot_index_group(const struct storage *s, uint64_t group)
{
    const struct storage_group *g = group_get(s, group);
    return g != NULL ? g->snapshot_index : 0;
}

craft_index storage_snapshot_index(const struct storage *s)
{
    return storage_snapshot_index_group(s, STORAGE_GROUP_DEFAULT);
}

void storage_close(struct storage *s)
{
    if (s == NULL) {
        return;
    }
    if (!s->failed && s->n_dirty > 0 && !s->unsynced && !wal_has_pending(s->wal)) {
        /* The remembered commits, as far as their logs are durable, in a batch of their own
         * (what the caller queued and never synced is dropped, as by wal_close): a lost commit
         * hint costs a re-apply, nothing more, so errors are ignored. */
        int rv = flush_hard_states(s, true);
        if (rv == 0) {
            rv = wal_sync(s->wal);
        }
        (void)rv;
    }
    wal_close(s->wal);
    groups_free(s);
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
