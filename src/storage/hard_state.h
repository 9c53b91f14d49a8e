/* The hard state file: term, vote and commit, replaced atomically by writing two alternating
 * checksummed slots in separate 4 KiB blocks (docs/DISK_FORMAT.md, "Hard state"). */
#ifndef CRAFT_STORAGE_HARD_STATE_H
#define CRAFT_STORAGE_HARD_STATE_H

#include "craft/types.h"
#include "io/fs.h"

#define HARD_STATE_FILE "hardstate"
#define HARD_STATE_SLOT_BYTES 48u
#define HARD_STATE_SLOT_STRIDE 4096u

struct hard_state_file;

/* Opens (creating if missing) and loads the newest valid slot into *loaded (all zero if new).
 * CRAFT_ECORRUPT (with errmsg) if neither slot is valid, CRAFT_EIO, CRAFT_ENOMEM. */
CRAFT_MUST_CHECK int hard_state_open(struct io_fs *fs, struct hard_state_file **out,
                                     struct craft_hard_state *loaded, char *errmsg,
                                     size_t errmsg_len);

/* Writes hs into the slot not holding the current state and fdatasyncs it; on return it is
 * durable. An error (CRAFT_EIO, CRAFT_ENOSPC) fails the file for good. */
CRAFT_MUST_CHECK int hard_state_save(struct hard_state_file *h, const struct craft_hard_state *hs);

void hard_state_close(struct hard_state_file *h);

/* Codec, exposed for tests and fuzzing: encode one slot; decode returns 1 valid, 0 empty (all
 * zero), -1 invalid. */
void hard_state_slot_encode(uint64_t seq, const struct craft_hard_state *hs, void *buf);
int hard_state_slot_decode(const void *buf, uint64_t *seq, struct craft_hard_state *hs);

#endif
