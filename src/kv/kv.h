/* The key-value state machine of craftd: a store of string keys and values with expiry, the
 * commands that read and change it (Redis semantics, RESP2 replies), the log entry that carries
 * a batch of commands (writes, and the reads of a MULTI that also writes), and the craft_fsm_ops
 * that apply those entries on every replica.
 *
 * Determinism: applying an entry depends only on the store and the entry. The time a write
 * sees ("now", for EX/PX/EXPIRE and for expired keys) is the leader's clock, written into the
 * entry when it is proposed (kv_entry_begin), so every replica expires the same keys. */
#ifndef CRAFT_KV_H
#define CRAFT_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "craft/fsm.h"
#include "kv/resp_reply.h"

struct kv_store; /* opaque; owned by whoever created it */

/* --- the command table --------------------------------------------------------------------- */

enum kv_command_kind {
    KV_COMMAND_READ = 1,  /* runs on a replica's store after a read barrier (kv_read) */
    KV_COMMAND_WRITE = 2, /* goes into a log entry (kv_entry_add) and runs in kv_apply */
    /* A read may go into an entry too, beside writes (MULTI): kv_apply runs it there. */
};

struct kv_command {
    const char *name;  /* lower case, as COMMAND lists it: "set" */
    int arity;         /* Redis convention: > 0 exact argc, < 0 at least -arity (name included) */
    int kind;          /* enum kv_command_kind */
    int key_first;     /* COMMAND's key positions (0: no keys) */
    int key_last;      /* -1: the last argument */
    int key_step;
};

/* The data command named by name (case-insensitive, len bytes), or NULL when kv does not know
 * it (the server handles connection commands itself: PING, AUTH, MULTI, INFO, ...). */
const struct kv_command *kv_command_find(const char *name, size_t len);
/* Every data command, for COMMAND: *n set to their count. Static storage. */
const struct kv_command *kv_command_all(size_t *n);

/* Checks argc against cmd's arity. On a mismatch appends Redis's error
 * ("-ERR wrong number of arguments for 'set' command") to reply and returns false. */
bool kv_command_check_arity(const struct kv_command *cmd, int argc, struct resp_reply *reply);

/* --- the store ----------------------------------------------------------------------------- */

/* An empty store, or NULL when out of memory. */
struct kv_store *kv_store_create(void);
void kv_store_destroy(struct kv_store *s);
/* Keys held, expired ones included until something removes them (DBSIZE counts live keys
 * with kv_read). */
uint64_t kv_store_size(const struct kv_store *s);
/* Bytes of keys and values held (INFO). */
uint64_t kv_store_bytes(const struct kv_store *s);
/* Keys held with an expiry, expired ones included until something removes them (so the live
 * keys with an expiry are this minus kv_store_size's keys that are no longer live: every key
 * held but expired has an expiry). O(1), exact. */
uint64_t kv_store_expires(const struct kv_store *s);

/* The client address node id advertised (raw "raft.advertise <id> <addr>" entries), copied
 * NUL-terminated into buf (len bytes). 0; CRAFT_ENOTFOUND when id advertised nothing;
 * CRAFT_ETOOBIG when buf is too small. Any thread, even while apply runs. */
CRAFT_MUST_CHECK int kv_store_node_address(const struct kv_store *s, uint64_t id, char *buf,
                                           size_t len);

/* Runs a read command on s as of wall-clock now_ms (keys whose expiry is <= now_ms are absent)
 * and appends its reply. argv[0] is the command name; argv[i] is lens[i] bytes, borrowed for
 * the call. The command must be a KV_COMMAND_READ whose arity was checked. Never changes s.
 * SCAN's guarantee (Redis's): a walk from cursor 0 back to 0 returns every key that was live
 * from its start to its end at least once, however the table resized in between; a key may
 * come twice, and keys added or removed during the walk may or may not come. */
void kv_read(const struct kv_store *s, int argc, const char *const *argv, const size_t *lens,
             uint64_t now_ms, struct resp_reply *reply);

/* --- the log entry -------------------------------------------------------------------------- */

/* An entry under construction: one or more commands proposed together (writes; reads only
 * beside writes, as a MULTI that mixes them). Owned by the
 * caller; kv_entry_init/kv_entry_close. The bytes (data, len) are what the server proposes.
 *
 * client != 0 asks for exactly-once: the store keeps the reply of the last seq applied for
 * each client, and an entry whose (client, seq) was already applied gets that reply again
 * instead of running twice (seq lower than the last: "-ERR stale request"). Clients not seen
 * for KV_SESSION_IDLE_MS of leader time are forgotten (deterministically, in apply). */
#define KV_SESSION_IDLE_MS (10u * 60u * 1000u)

struct kv_entry {
    char *data;
    size_t len;
    size_t cap;
    uint32_t n_commands;
    bool multi; /* the reply is one array of every command's reply (MULTI/EXEC) */
};

void kv_entry_init(struct kv_entry *e);
void kv_entry_close(struct kv_entry *e);
/* Starts (or restarts) e: the leader's now_ms, the session (client, seq; 0, 0 for none), and
 * whether the reply is an array (multi). 0, or CRAFT_ENOMEM. */
int kv_entry_begin(struct kv_entry *e, uint64_t now_ms, uint64_t client, uint64_t seq,
                   bool multi);
/* Adds one command, a write or a read (arity checked by the caller). 0; CRAFT_ENOMEM; CRAFT_ETOOBIG
 * when an argument is longer than 512 MiB (Redis's proto-max-bulk-len), and then nothing is added.
 * The internal command raft.advertise <node-id> <client-address> (see kv_store_node_address)
 * is added the same way; kv_command_find does not know it, so clients cannot send it. */
int kv_entry_add(struct kv_entry *e, int argc, const char *const *argv, const size_t *lens);

/* --- applying ------------------------------------------------------------------------------- */

/* Applies one entry's bytes to s and appends the entry's reply (one RESP value: the command's
 * reply, or an array for a multi entry; a plain entry of several commands replies with each
 * command's reply in turn). Commands run in order at the entry's store time: a read sees the
 * writes before it in the same entry. A malformed entry (it never is, unless the log is corrupt)
 * returns CRAFT_ECORRUPT and leaves s unchanged. CRAFT_ENOMEM leaves s unchanged too. The format
 * and its rules: docs/KV_FORMAT.md. */
int kv_apply(struct kv_store *s, const void *entry, size_t len, struct resp_reply *reply);

/* The state machine for craft_node_create: ctx is a struct kv_store. apply's result for each
 * entry is a struct kv_result (the RESP bytes of the entry's reply), freed with
 * release_result or, by the proposer, with kv_result_free. Snapshots hold every live key,
 * its value and expiry, and the session table. */
struct kv_result {
    size_t len;
    char data[]; /* RESP bytes */
};
void kv_result_free(struct kv_result *r);
extern const struct craft_fsm_ops kv_fsm_ops;

#endif
