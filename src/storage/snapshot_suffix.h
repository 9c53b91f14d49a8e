/* Recovery's rule for the log after a snapshot: which of the WAL's entries continue the newest
 * snapshot, and whether the WAL must be emptied before the next append (docs/DISK_FORMAT.md,
 * "Recovery with a snapshot"). Pure: it decides, storage_open acts. */
#ifndef CRAFT_STORAGE_SNAPSHOT_SUFFIX_H
#define CRAFT_STORAGE_SNAPSHOT_SUFFIX_H

#include <stdbool.h>
#include <stddef.h>

#include "craft/errors.h"
#include "craft/types.h"

/* What recovery holds: the WAL's live entries [first, last] (both 0 when empty) and its term at
 * the snapshot's index (0 when it holds no entry there), the snapshot (index, term) (both 0 when
 * there is none), and the hard state's commit index. */
struct snapshot_suffix_in {
    craft_index wal_first;
    craft_index wal_last;
    craft_term wal_term_at_snapshot;
    craft_index snapshot_index;
    craft_term snapshot_term;
    craft_index commit;
};

struct snapshot_suffix {
    craft_index from; /* the first entry handed back (they run to wal_last); 0: none */
    bool empty_wal;   /* the WAL holds entries not handed back: truncate all of it */
};

/* Applies the rule (S, T the snapshot, [W1, WL] the WAL): WAL empty: none; no snapshot: all;
 * WL <= S: none, empty the WAL; W1 > S + 1: a gap, CRAFT_ECORRUPT; W1 == S + 1: all; the WAL's
 * term at S is T: S + 1 onwards; else the WAL diverged from the committed history at or before
 * S (those entries never committed): none, empty the WAL — unless the hard state's commit covers
 * S, which says they were committed: CRAFT_ECORRUPT. errmsg says why. */
CRAFT_MUST_CHECK int snapshot_suffix_find(const struct snapshot_suffix_in *in,
                                          struct snapshot_suffix *out, char *errmsg,
                                          size_t errmsg_len);

#endif
