/* Cluster configurations (thesis §4.3): the byte format of a CONFIG log entry, checks of a
 * membership, and which configuration is in force. A node uses a configuration as soon as its entry
 * is in the log, committed or not (§4.1); truncating the entry brings the one before it back. */
#ifndef CRAFT_CORE_CONFIG_H
#define CRAFT_CORE_CONFIG_H

#include <stdbool.h>

#include "craft/core.h"

/* A CONFIG entry's data: u8 version (1), u8 n_voters, u8 n_voters_old, u8 n_learners, then the ids
 * of voters, voters_old and learners as u64 little-endian, in that order. */
#define CONFIG_VERSION 1
#define CONFIG_HEADER_BYTES 4
#define CONFIG_BYTES_MAX \
    (CONFIG_HEADER_BYTES + 8 * (2 * CRAFT_VOTERS_MAX + CRAFT_LEARNERS_MAX))

/* True when m is a configuration a cluster can be in: at least one voter, counts within bounds, no
 * id 0, no id twice in a list, no learner that also votes (in either half of a joint one). */
bool config_is_valid(const struct craft_membership *m);

/* Encodes m (valid) into buf (CONFIG_BYTES_MAX bytes); returns the length. */
size_t config_encode(const struct craft_membership *m, unsigned char *buf);

/* Decodes a CONFIG entry's data into *m. Returns 0, or CRAFT_EINVAL for anything malformed or
 * invalid (input: a broken or foreign leader). */
int config_decode(const void *data, size_t len, struct craft_membership *m);

bool config_has_voter(const struct craft_membership *m, craft_id id);
bool config_has_learner(const struct craft_membership *m, craft_id id);
/* A member in any role, in either half. */
bool config_has_member(const struct craft_membership *m, craft_id id);
bool config_is_joint(const struct craft_membership *m);
bool config_equal(const struct craft_membership *a, const struct craft_membership *b);

/* Which configuration is in force: the newest CONFIG entry in the log, or else the base — the
 * configuration of the snapshot the log starts after, or the bootstrap one of a brand-new cluster,
 * moved forward as compaction drops CONFIG entries. */
struct config_state {
    struct craft_membership base;
    craft_index base_index; /* the index the base took effect at (0: bootstrap) */
    struct craft_membership current;
    craft_index current_index; /* its CONFIG entry, or base_index */
};

void config_state_init(struct config_state *s, const struct craft_membership *base,
                       craft_index base_index);

#endif
