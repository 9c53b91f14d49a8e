/* Which configuration is in force on this core, kept in step with the log (thesis §4.1: a server
 * uses the newest configuration in its log, committed or not): a CONFIG entry takes effect when
 * appended, its truncation brings back the one before, and compaction moves the base forward.
 * The member table (peers.h) always mirrors the configuration in force. */
#ifndef CRAFT_CORE_MEMBERSHIP_H
#define CRAFT_CORE_MEMBERSHIP_H

#include "config.h"

struct craft_core;
struct peer;

/* Sets the base (a snapshot's configuration, or the bootstrap one) and makes it current. */
void membership_init(struct craft_core *c, const struct craft_membership *base,
                     craft_index base_index);

/* The entry at index was just appended to the log: a CONFIG entry takes effect now. Its data was
 * validated when it entered the core (append_is_well_formed, proposals). */
void membership_on_append(struct craft_core *c, craft_index index);

/* Entries from `from` on were just truncated: if the configuration in force came from one of
 * them, the newest remaining CONFIG entry (or the base) takes effect again. */
void membership_on_truncate(struct craft_core *c, craft_index from);

/* Entries up to `upto` are about to be compacted: the newest CONFIG entry among them becomes the
 * base, so a later truncation can still fall back to it. */
void membership_on_compact(struct craft_core *c, craft_index upto);

/* Starts the progress of the member in slot (a leader's new member, or every member of a new
 * leader) from the leader's end, probing back; its in-flight ring is the slot's. */
void membership_start_progress(struct craft_core *c, struct peer *p, unsigned slot);

/* The configuration in force at index (from the base's index on). Returns 0 or CRAFT_ECOMPACTED. */
int membership_at(const struct craft_core *c, craft_index index, struct craft_membership *out);
/* The configuration in force and the index of its entry (0: bootstrap). */
const struct craft_membership *membership_current(const struct craft_core *c);

/* True when id may vote in the configuration in force (either half). */
bool membership_is_voter(const struct craft_core *c, craft_id id);

/* True when this node may campaign: it votes in the configuration in force, or that configuration
 * removed it, has not committed as far as this node knows, and the one before it counted it as a
 * voter (thesis §4.2.2: until C_new commits, the removed node may hold the only log that can win;
 * it then counts votes in C_new, without its own). */
bool membership_may_campaign(const struct craft_core *c);

#ifdef CRAFT_MUTATION_CONFIG_ON_COMMIT
/* Mutation only: the newest committed CONFIG entry takes effect now. */
void membership_on_commit(struct craft_core *c);
#endif

#endif
