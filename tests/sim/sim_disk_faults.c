/* Disk failures as they really happen, drawn per seed by the swarm: kill -9 keeping the page
 * cache, power loss inside a storage call, I/O errors, misdirected writes, bit rot. Each keeps
 * the storage invariants: nothing reported durable is lost, damage is reported, never read. */
#include "sim_disk_faults.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sim_cluster.h"
#include "storage/identity.h"
#include "storage/wal.h"
#include "storage/wal_record.h"
#include "util/alloc.h"
#include "util/assert.h"

/* The chance that a crash (of a node whose run draws rot) also rots a bit. */
#define ROT_PPM 250000
/* A misdirected write lands up to this many 8-byte steps before its place: always onto data
 * that was durable before it, which the recovery rules must then find (docs/DISK_FORMAT.md). */
#define MISDIRECT_STEPS_MAX 256

void sim_disk_faults_init(struct sim_disk_faults *df, uint64_t seed)
{
    memset(df, 0, sizeof *df);
    prng_seed(&df->rng, seed);
}

bool sim_disk_faults_io_errors(const struct sim_params *p)
{
    return p->write_eio_ppm > 0 || p->write_enospc_ppm > 0 || p->sync_dir_eio_ppm > 0;
}

void sim_disk_faults_knobs(const struct sim_params *p, struct io_fs_sim_faults *faults, bool on)
{
    faults->write_eio_ppm = on ? p->write_eio_ppm : 0;
    faults->write_enospc_ppm = on ? p->write_enospc_ppm : 0;
    faults->sync_dir_eio_ppm = on ? p->sync_dir_eio_ppm : 0;
}

enum sim_crash_kind sim_disk_faults_crash_kind(struct sim_cluster *c, struct sim_node *n)
{
    uint32_t kill = c->p.crash_kill_pct;
    uint32_t midcall = c->p.crash_midcall_pct;
    bool fail_stop = c->dfaults.node[n->id].fail_stop;
    c->dfaults.node[n->id].fail_stop = false;
    if (!c->faults_on || kill + midcall == 0 || fail_stop) {
        return SIM_CRASH_POWER;
    }
    uint64_t r = prng_below(&c->dfaults.rng, 100);
    return r < kill ? SIM_CRASH_KILL : r < (uint64_t)kill + midcall ? SIM_CRASH_MIDCALL
                                                                    : SIM_CRASH_POWER;
}

void sim_disk_faults_midcall(struct sim_cluster *c, struct sim_node *n)
{
    /* A few calls: a batch is two or more (write, sync; a segment roll adds some). */
    uint64_t k = prng_below(&c->dfaults.rng, 10);
    io_fs_sim_die_after(n->fs, io_fs_sim_ops(n->fs) + k);
    sim_trace_add(&c->trace, c->now_us, SIM_TR_STORAGE, (uint32_t)n->id, SIM_STORAGE_MIDCALL, k,
                  n->disk.n_pending);
    for (struct sim_disk_write *w = n->disk.head; w != NULL; w = w->next) {
        /* It may reach the disk: so may its truncation. */
        if (w->truncate_from != 0 && (n->crash_floor == 0 || w->truncate_from < n->crash_floor)) {
            n->crash_floor = w->truncate_from;
        }
        if (sim_cluster_storage_take(n, w, true) != 0) {
            break;
        }
    }
}

void sim_disk_faults_fail_stop(struct sim_cluster *c, struct sim_node *n)
{
    c->dfaults.node[n->id].fail_stop = true;
}

void sim_disk_faults_before_write(struct sim_cluster *c, struct sim_node *n)
{
    if (c->p.misdirect_ppm == 0 || !c->faults_on || c->bitflip_done ||
        !prng_chance(&c->dfaults.rng, c->p.misdirect_ppm)) {
        return;
    }
    uint64_t back = 8 * (1 + prng_below(&c->dfaults.rng, MISDIRECT_STEPS_MAX));
    io_fs_sim_misdirect_next_write(n->fs, -(int64_t)back);
    c->dfaults.node[n->id].may_corrupt = true;
    c->bitflip_done = true; /* the run's one damaged node */
    sim_trace_add(&c->trace, c->now_us, SIM_TR_STORAGE, (uint32_t)n->id, SIM_STORAGE_MISDIRECT,
                  back, 0);
}

struct newest {
    uint64_t seq;
    bool any;
};

static int note_newest(void *arg, const char *name)
{
    struct newest *nw = arg;
    unsigned long long seq;
    char tail[8];
    if (strlen(name) == 24 && sscanf(name, "wal-%16llx%7s", &seq, tail) == 2 &&
        strcmp(tail, ".seg") == 0 && (!nw->any || seq > nw->seq)) {
        nw->seq = seq;
        nw->any = true;
    }
    return 0;
}

/* The bytes of the newest segment that some other durable data vouches for: every batch before
 * the last one seen (a later batch was written only after it was synced), and entries up to the
 * commit of the hard-state records before them. Rot there must be reported; rot in the last batch
 * above the commit looks exactly like a torn write and may be cut (docs/DISK_FORMAT.md,
 * "Recovery"), so it is not drawn. Returns the end of that range (0: nothing vouched for); *hs_at
 * gets the offset of a hard-state record in it (0: none). */
static uint64_t vouched_end(struct sim_cluster *c, const unsigned char *buf, uint64_t size,
                            uint64_t *last_batch_start, uint64_t *hs_at)
{
    craft_index commit = 0;
    uint64_t n_hs = 0;
    uint64_t off = WAL_SEGMENT_HEADER_BYTES;
    uint64_t batch = 0;
    uint64_t batch_start = 0;
    uint64_t covered_end = 0;
    while (off < size) {
        struct wal_record r;
        size_t rec_size;
        if (wal_record_decode(buf + off, (size_t)(size - off), &r, &rec_size) != WAL_DECODE_OK) {
            break;
        }
        if (r.batch != batch) {
            batch = r.batch;
            batch_start = off;
        }
        if (r.kind == WAL_RECORD_HARD_STATE && r.group == WAL_GROUP_DEFAULT) {
            commit = r.index > commit ? r.index : commit;
        }
        if (r.kind == WAL_RECORD_ENTRY && r.group == WAL_GROUP_DEFAULT && r.index <= commit) {
            covered_end = off + rec_size;
        }
        off += rec_size;
    }
    *last_batch_start = batch_start;
    uint64_t end = batch_start > covered_end ? batch_start : covered_end;
    /* A hard-state record before the end, drawn uniformly (reservoir): rot there is damage too. */
    *hs_at = 0;
    for (off = WAL_SEGMENT_HEADER_BYTES; off < end;) {
        struct wal_record r;
        size_t rec_size;
        if (wal_record_decode(buf + off, (size_t)(size - off), &r, &rec_size) != WAL_DECODE_OK) {
            break;
        }
        if (r.kind == WAL_RECORD_HARD_STATE && off + rec_size <= end &&
            prng_below(&c->dfaults.rng, ++n_hs) == 0) {
            *hs_at = off;
        }
        off += rec_size;
    }
    return end;
}

static bool rot_newest_segment(struct sim_cluster *c, struct sim_node *n, bool hs_only,
                               uint64_t *bit)
{
    struct newest nw = {0, false};
    if (io_fs_list(io_fs_sim_fs(n->fs), note_newest, &nw) != 0 || !nw.any) {
        return false;
    }
    char name[64];
    snprintf(name, sizeof name, "wal-%016llx.seg", (unsigned long long)nw.seq);
    uint64_t size = 0;
    if (io_fs_sim_file_size(n->fs, name, IO_FS_SIM_DURABLE, &size) != 0 ||
        size <= WAL_SEGMENT_HEADER_BYTES || size > (1u << 20)) {
        return false;
    }
    unsigned char *buf = craft_malloc((size_t)size);
    CRAFT_ASSERT(buf != NULL); /* out of memory in a test tool */
    size_t got = 0;
    uint64_t end = 0;
    uint64_t last_start = 0;
    uint64_t hs_at = 0;
    if (io_fs_sim_read(n->fs, name, IO_FS_SIM_DURABLE, 0, buf, (size_t)size, &got) == 0 &&
        got == size) {
        end = vouched_end(c, buf, size, &last_start, &hs_at);
    }
    craft_free(buf);
    if (end <= WAL_SEGMENT_HEADER_BYTES) {
        return false;
    }
    if (hs_only) {
        /* A vouched-for hard-state record (in a batch a later one follows): its loss would
         * forget a durable vote, so it must be reported. */
        if (hs_at == 0) {
            return false;
        }
        uint64_t rec = wal_record_size(WAL_HARD_STATE_PAYLOAD);
        *bit = (hs_at + prng_below(&c->dfaults.rng, rec)) * 8 + prng_below(&c->dfaults.rng, 8);
        return io_fs_sim_flip_bit(n->fs, name, *bit) == 0;
    }
    /* Half the time, when the commit vouches for some of the last batch, aim there: only the
     * hard state's commit tells that damage from a torn tail. */
    uint64_t from = WAL_SEGMENT_HEADER_BYTES;
    if (end > last_start && last_start > from && prng_chance(&c->dfaults.rng, 500000)) {
        from = last_start;
    }
    uint64_t byte = from + prng_below(&c->dfaults.rng, end - from);
    *bit = byte * 8 + prng_below(&c->dfaults.rng, 8);
    return io_fs_sim_flip_bit(n->fs, name, *bit) == 0;
}

void sim_disk_faults_rot(struct sim_cluster *c, struct sim_node *n)
{
    if (!c->p.rot || !c->faults_on || !prng_chance(&c->dfaults.rng, ROT_PPM)) {
        return;
    }
    struct sim_disk_fault_node *fn = &c->dfaults.node[n->id];
    uint64_t target = 1 + prng_below(&c->dfaults.rng, 3);
    uint64_t bit = 0;
    bool done = false;
    if (!c->bitflip_done) {
        /* The hard state lives in the WAL as records (docs/DISK_FORMAT.md): rot in a durable
         * one is damage to report, like rot in any vouched-for record. */
        if (target == SIM_ROT_NEWEST_SEGMENT || target == SIM_ROT_HARD_STATE) {
            done = rot_newest_segment(c, n, target == SIM_ROT_HARD_STATE, &bit);
        } else {
            bit = prng_below(&c->dfaults.rng, IDENTITY_BYTES * 8);
            done = io_fs_sim_flip_bit(n->fs, IDENTITY_FILE, bit) == 0;
        }
        if (done) {
            fn->may_corrupt = true;
            c->bitflip_done = true; /* the run's one damaged node */
        }
    }
    if (done) {
        sim_trace_add(&c->trace, c->now_us, SIM_TR_STORAGE, (uint32_t)n->id, SIM_STORAGE_ROT,
                      target, bit);
    }
}

bool sim_disk_faults_refusal_ok(struct sim_cluster *c, struct sim_node *n, int rv)
{
    return rv == CRAFT_ECORRUPT && c->dfaults.node[n->id].may_corrupt;
}

void sim_disk_faults_opened(struct sim_cluster *c, struct sim_node *n)
{
    c->dfaults.node[n->id].may_corrupt = false;
}
