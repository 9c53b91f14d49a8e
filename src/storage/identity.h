/* The data directory's identity file: which node of which cluster owns the directory, so a node
 * never starts on someone else's data (docs/DISK_FORMAT.md, "Identity"). */
#ifndef CRAFT_STORAGE_IDENTITY_H
#define CRAFT_STORAGE_IDENTITY_H

#include "craft/types.h"
#include "io/fs.h"

#define IDENTITY_FILE "identity"
#define IDENTITY_BYTES 40u

/* Checks that the directory belongs to (node, cluster); a directory without an identity file
 * and without any other craft file is claimed by writing one (write new, fdatasync, rename, sync
 * the directory). Returns 0; CRAFT_EMISMATCH if it belongs to another node or cluster;
 * CRAFT_ECORRUPT if the file is damaged or missing beside other data; CRAFT_EIO. errmsg says
 * which. */
CRAFT_MUST_CHECK int identity_claim(struct io_fs *fs, craft_id node, uint64_t cluster,
                                    char *errmsg, size_t errmsg_len);

/* Codec, exposed for tests and fuzzing. decode returns 0 or CRAFT_ECORRUPT. */
void identity_encode(craft_id node, uint64_t cluster, void *buf);
CRAFT_MUST_CHECK int identity_decode(const void *buf, size_t len, craft_id *node,
                                     uint64_t *cluster);

#endif
