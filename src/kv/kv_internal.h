/* The store's insides, shared by the kv files: the key table with its undo journal (so a failed
 * entry leaves the store unchanged), the session table and the node directory. */
#ifndef CRAFT_KV_INTERNAL_H
#define CRAFT_KV_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kv/kv.h"

/* The largest key or value (Redis's proto-max-bulk-len default); bigger lengths in an entry or
 * a snapshot are corruption. */
#define KV_BLOB_MAX (512u * 1024u * 1024u)
/* The longest client address a node may advertise (a host name and a port, with room). */
#define KV_ADDR_MAX 1024u
/* The first table size (a power of two) and the load factor that doubles it. */
#define KV_TABLE_MIN 16u
#define KV_TABLE_LOAD 1u
/* Buckets the expiry sweep visits after each applied entry: bounded work per entry. */
#define KV_SWEEP_BUCKETS 16u

struct kv_item {
    struct kv_item *next; /* the bucket's chain */
    uint64_t hash;
    uint64_t expire_ms; /* absolute leader time; 0: none */
    char *val;          /* val_cap bytes: at first right after the key, in the item's allocation;
                         * once it must grow, its own allocation (owned) */
    size_t val_len;
    size_t val_cap;
    size_t key_len;
    char key[];
};

struct kv_table {
    struct kv_item **buckets; /* owned; mask + 1 chains */
    size_t mask;
    uint64_t n_items;
    uint64_t n_bytes;   /* keys and values */
    uint64_t n_expires; /* items with an expiry, expired ones included until removed: kept
                         * exact by link, unlink, kv_txn_expire and its undo, and the sweep */
};

enum kv_undo_kind {
    KV_UNDO_REPLACE = 1, /* old (may be NULL) left the table, new (may be NULL) entered it */
    KV_UNDO_VALUE,       /* item's value buffer was swapped: old_val/len/cap were its own */
    KV_UNDO_TRUNCATE,    /* item's value grew in place from old_len */
    KV_UNDO_EXPIRE,      /* item's expiry was old_expire */
    KV_UNDO_FLUSH,       /* the whole table was replaced; old is the table before */
    KV_UNDO_NODE,        /* the node directory's entry id had address old_addr (NULL: none) */
};

struct kv_undo {
    int kind;
    struct kv_item *item;  /* REPLACE: the new item; VALUE, TRUNCATE, EXPIRE: the item */
    struct kv_item *old;   /* REPLACE: the item that left */
    char *old_val;         /* VALUE */
    size_t old_len;        /* VALUE, TRUNCATE */
    size_t old_cap;        /* VALUE */
    uint64_t old_expire;   /* EXPIRE; NODE: the id */
    struct kv_table table; /* FLUSH */
    char *old_addr;        /* NODE */
};

struct kv_session {
    struct kv_session *next;     /* the bucket's chain */
    struct kv_session *lru_prev; /* least recently used first */
    struct kv_session *lru_next;
    uint64_t client;
    uint64_t seq;     /* the last seq applied */
    uint64_t used_ms; /* entry time of the last use */
    char *reply;      /* owned; the RESP bytes of seq's reply */
    size_t reply_len;
};

struct kv_sessions {
    struct kv_session **buckets; /* owned; mask + 1 chains (NULL until the first session) */
    size_t mask;
    uint64_t n;
    struct kv_session *lru_head; /* oldest */
    struct kv_session *lru_tail; /* newest */
};

struct kv_node_addr {
    uint64_t id;
    char *addr; /* owned, NUL-terminated */
};

struct kv_nodes {
    pthread_mutex_t lock;   /* guards the array: kv_store_node_address reads it from any thread */
    struct kv_node_addr *v; /* owned */
    size_t n;
    size_t cap;
};

/* A point-in-time view for a concurrent snapshot would hook in at the undo journal: while a
 * save runs, every REPLACE/VALUE/FLUSH keeps the old version for the saver instead of freeing
 * it at commit (copy-on-write per item), and the saver walks the table skipping items newer
 * than its view. Snapshots today run between two applies (fsm.h), so no view is kept. */
struct kv_store {
    struct kv_table t;
    struct kv_undo *undo; /* owned; the journal of the entry being applied */
    size_t n_undo;
    size_t undo_cap;
    uint64_t now_ms;    /* the latest entry time applied: store time never goes back */
    uint64_t sweep_pos; /* the expiry sweep's next bucket (a reverse-binary cursor) */
    struct kv_sessions sessions;
    struct kv_nodes nodes;
    const char **argv; /* owned scratch: the parsed arguments of the entry being applied */
    size_t argv_cap;
    size_t *lens; /* owned scratch */
    size_t lens_cap;
    int *argcs; /* owned scratch: each command's argc */
    size_t argcs_cap;
};

/* --- kv_table.c: the key table and its journal ----------------------------------------------- */

uint64_t kv_hash(const void *p, size_t n);
int kv_table_init(struct kv_table *t);
/* Frees every item and the buckets. */
void kv_table_close(struct kv_table *t);
/* The item named key whatever its expiry, or NULL. */
struct kv_item *kv_table_get(const struct kv_table *t, const char *key, size_t n);
/* The live item (expiry > now_ms or none) named key, or NULL. */
const struct kv_item *kv_store_lookup(const struct kv_store *s, const char *key, size_t n,
                                      uint64_t now_ms);
bool kv_item_live(const struct kv_item *it, uint64_t now_ms);
/* Links a new item into t (no journal; snapshot restore). Grows t when it can. */
void kv_table_link(struct kv_table *t, struct kv_item *it);
/* A new item (key copied, value copied), or NULL. */
struct kv_item *kv_item_create(const char *key, size_t klen, const char *val, size_t vlen,
                               uint64_t expire_ms);
void kv_item_free(struct kv_item *it);
/* Whether val is the value stored inside it's own allocation (not separately freed). */
bool kv_item_value_inline(const struct kv_item *it, const char *val);

/* The journaled changes: each returns 0, or CRAFT_ENOMEM with nothing changed. */
CRAFT_MUST_CHECK int kv_txn_put(struct kv_store *s, const char *key, size_t klen, const char *val,
                                size_t vlen, uint64_t expire_ms);
CRAFT_MUST_CHECK int kv_txn_delete(struct kv_store *s, struct kv_item *it);
CRAFT_MUST_CHECK int kv_txn_append(struct kv_store *s, struct kv_item *it, const char *p, size_t n);
CRAFT_MUST_CHECK int kv_txn_set_value(struct kv_store *s, struct kv_item *it, const char *p,
                                      size_t n);
CRAFT_MUST_CHECK int kv_txn_expire(struct kv_store *s, struct kv_item *it, uint64_t expire_ms);
CRAFT_MUST_CHECK int kv_txn_flush(struct kv_store *s);
/* A slot for one more journal record (the caller fills it with kv_txn_push). */
CRAFT_MUST_CHECK int kv_txn_reserve(struct kv_store *s);
struct kv_undo *kv_txn_push(struct kv_store *s);
/* Makes the entry's changes final (frees what they replaced), or undoes them in reverse. */
void kv_txn_commit(struct kv_store *s);
void kv_txn_rollback(struct kv_store *s);
/* Deletes expired items in a few buckets (no journal: after commit); nothing to do, and so
 * returns at once, while no item has an expiry. */
void kv_table_sweep(struct kv_store *s, uint64_t now_ms);
/* Debug check (tests, fuzzers): walks t and compares what it finds with n_items, n_bytes and
 * n_expires. True when they agree. O(items). */
bool kv_table_check(const struct kv_table *t);
/* The reverse-binary cursor step over a table of mask + 1 buckets (0 when the walk is over). */
uint64_t kv_cursor_next(uint64_t cursor, size_t mask);

/* --- kv_session.c -------------------------------------------------------------------------------
 */

void kv_sessions_init(struct kv_sessions *ss);
void kv_sessions_close(struct kv_sessions *ss);
struct kv_session *kv_session_find(const struct kv_sessions *ss, uint64_t client);
/* Room for one more session without allocating in kv_session_insert. 0 or CRAFT_ENOMEM. */
CRAFT_MUST_CHECK int kv_sessions_reserve(struct kv_sessions *ss);
/* Adds s (allocated by the caller, now owned by ss) as the newest. */
void kv_session_insert(struct kv_sessions *ss, struct kv_session *s);
/* Records reply (taking ownership) as client's last, and marks it used at now_ms. */
void kv_session_update(struct kv_sessions *ss, struct kv_session *s, uint64_t seq, char *reply,
                       size_t reply_len, uint64_t now_ms);
/* Forgets the sessions unused since before now_ms - KV_SESSION_IDLE_MS, oldest first. */
void kv_sessions_expire(struct kv_sessions *ss, uint64_t now_ms);

/* --- kv_nodes.c ------------------------------------------------------------------------------- */

int kv_nodes_init(struct kv_nodes *d);
void kv_nodes_close(struct kv_nodes *d);
/* Journaled: sets id's address (addr is n bytes). 0 or CRAFT_ENOMEM (nothing changed). */
CRAFT_MUST_CHECK int kv_txn_advertise(struct kv_store *s, uint64_t id, const char *addr, size_t n);
/* Takes back a KV_UNDO_NODE record (its commit just frees old_addr). */
void kv_nodes_rollback(struct kv_nodes *d, struct kv_undo *u);
/* Adds or replaces id's address, taking ownership of addr (no journal: snapshot restore).
 * 0 or CRAFT_ENOMEM (addr not taken). */
CRAFT_MUST_CHECK int kv_nodes_set(struct kv_nodes *d, uint64_t id, char *addr);

/* --- kv_commands.c / kv_write.c / kv_read.c ------------------------------------------------------
 */

/* A write command's handler: changes s through the journal and appends its reply. 0, or
 * CRAFT_ENOMEM (the caller rolls the entry back). */
typedef int (*kv_write_fn)(struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                           const size_t *lens, struct resp_reply *r);
typedef void (*kv_read_fn)(const struct kv_store *s, uint64_t now_ms, int argc,
                           const char *const *argv, const size_t *lens, struct resp_reply *r);

/* The write handler of argv[0] (internal commands included), or NULL; *cmd set to its entry. */
kv_write_fn kv_write_find(const char *name, size_t len, const struct kv_command **cmd);
kv_read_fn kv_read_find(const char *name, size_t len);

int kv_write_set(struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                 struct resp_reply *);
int kv_write_getset(struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                    struct resp_reply *);
int kv_write_setnx(struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                   struct resp_reply *);
int kv_write_del(struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                 struct resp_reply *);
int kv_write_append(struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                    struct resp_reply *);
int kv_write_incr(struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                  struct resp_reply *);
int kv_write_incrby(struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                    struct resp_reply *);
int kv_write_decr(struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                  struct resp_reply *);
int kv_write_decrby(struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                    struct resp_reply *);
int kv_write_mset(struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                  struct resp_reply *);
int kv_write_expire(struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                    struct resp_reply *);
int kv_write_pexpire(struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                     struct resp_reply *);
int kv_write_persist(struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                     struct resp_reply *);
int kv_write_flushdb(struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                     struct resp_reply *);
int kv_write_advertise(struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                       struct resp_reply *);

void kv_read_get(const struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                 struct resp_reply *);
void kv_read_exists(const struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                    struct resp_reply *);
void kv_read_strlen(const struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                    struct resp_reply *);
void kv_read_mget(const struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                  struct resp_reply *);
void kv_read_keys(const struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                  struct resp_reply *);
void kv_read_scan(const struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                  struct resp_reply *);
void kv_read_dbsize(const struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                    struct resp_reply *);
void kv_read_type(const struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                  struct resp_reply *);
void kv_read_ttl(const struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                 struct resp_reply *);
void kv_read_pttl(const struct kv_store *, uint64_t, int, const char *const *, const size_t *,
                  struct resp_reply *);

/* --- kv_util.c ------------------------------------------------------------------------------- */

/* Redis's stringmatchlen (case-sensitive): glob pattern against a string, both binary. */
bool kv_glob_match(const char *pat, size_t plen, const char *s, size_t slen);
/* Case-insensitive equality of p (n bytes) with the NUL-terminated lower-case word. */
bool kv_word_is(const char *p, size_t n, const char *word);

/* --- kv_entry.c ---------------------------------------------------------------------------------
 */

#define KV_ENTRY_VERSION 1
#define KV_ENTRY_FLAG_MULTI 0x01
#define KV_ENTRY_HEADER 30 /* version, flags, now_ms, client, seq, n_commands */

struct kv_entry_header {
    uint8_t version;
    uint8_t flags;
    uint64_t now_ms;
    uint64_t client;
    uint64_t seq;
    uint32_t n_commands;
};

/* Validates the whole entry (every length against len) and fills s's scratch: argcs[i] is
 * command i's argc, argv/lens hold every command's arguments one after another. 0,
 * CRAFT_ECORRUPT or CRAFT_ENOMEM; what the store holds is not changed either way. */
CRAFT_MUST_CHECK int kv_entry_parse(struct kv_store *s, const void *entry, size_t len,
                                    struct kv_entry_header *h);

#endif
