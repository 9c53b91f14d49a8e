/* Which WAL entries follow the snapshot at recovery. Entries up to the snapshot's index are
 * covered by it; the ones after it count only if they continue it, that is, if the WAL agrees
 * with the snapshot at its index or starts right after it. */
#include "snapshot_suffix.h"

#include <inttypes.h>
#include <stdio.h>

#include "util/assert.h"

int snapshot_suffix_find(const struct snapshot_suffix_in *in, struct snapshot_suffix *out,
                         char *errmsg, size_t errmsg_len)
{
    craft_index s = in->snapshot_index;
    CRAFT_ASSERT((in->wal_first == 0) == (in->wal_last == 0));
    CRAFT_ASSERT(in->wal_first <= in->wal_last);
    CRAFT_ASSERT((s == 0) == (in->snapshot_term == 0));
    *out = (struct snapshot_suffix){0};
    if (in->wal_last == 0) {
        return 0;
    }
    if (s == 0) {
        out->from = in->wal_first;
        return 0;
    }
    if (in->wal_last <= s) {
        /* All covered. Emptied, the WAL takes S + 1 next (it accepts anything when empty). */
        out->empty_wal = true;
        return 0;
    }
    if (in->wal_first > s + 1) {
        snprintf(errmsg, errmsg_len,
                 "WAL starts at %" PRIu64 " after snapshot %" PRIu64 " (entries %" PRIu64
                 "..%" PRIu64 " are lost)",
                 in->wal_first, s, s + 1, in->wal_first - 1);
        return CRAFT_ECORRUPT;
    }
    if (in->wal_first == s + 1) {
        out->from = in->wal_first;
        return 0;
    }
    CRAFT_ASSERT(in->wal_term_at_snapshot != 0); /* first <= s < last */
    if (in->wal_term_at_snapshot == in->snapshot_term) {
        out->from = s + 1;
        return 0;
    }
    /* A snapshot holds committed entries only, so the WAL's entry at S (of another term) never
     * committed, nor did anything after it: an install from the leader whose WAL truncation a
     * crash cut off. The hard state's commit never covers such an entry (storage cuts it to the
     * durable log, below any queued truncation, or to the snapshot). */
    if (in->commit > s) {
        snprintf(errmsg, errmsg_len,
                 "WAL entry %" PRIu64 " has term %" PRIu64 ", not the snapshot's term %" PRIu64
                 ", yet the hard state's commit %" PRIu64 " covers it",
                 s, in->wal_term_at_snapshot, in->snapshot_term, in->commit);
        return CRAFT_ECORRUPT;
    }
    out->empty_wal = true;
    return 0;
}
