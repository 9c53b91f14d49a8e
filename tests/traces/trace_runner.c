/* Golden traces: scripted scenarios drive real cores over a FIFO network with instant persistence
 * and write every input and output as text. The result must equal tests/traces/<name>.trace;
 * a protocol change rewrites them only through --rewrite and a reviewed diff. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "craft/core.h"

#define NODES_MAX 5
#define QUEUE_MAX 4096
#define ENTRIES_MAX 64
#define DATA_MAX 32

struct queued {
    struct craft_msg msg;
    struct craft_entry entries[ENTRIES_MAX];
    char data[ENTRIES_MAX][DATA_MAX];
};

struct world {
    struct craft_core *cores[NODES_MAX];
    unsigned n;
    bool cut[NODES_MAX + 1]; /* a cut node neither sends nor receives */
    struct queued *queue;    /* FIFO ring of QUEUE_MAX; owned */
    size_t head;
    size_t tail;
    uint64_t now;
    FILE *out;
};

static void fail(const char *what)
{
    fprintf(stderr, "trace_runner: %s\n", what);
    exit(2);
}

static void print_msg(struct world *w, const struct craft_msg *m, const char *when)
{
    fprintf(w->out, "    %s %s %lu->%lu term=%lu", when, craft_msg_type_name(m->type),
            (unsigned long)m->from, (unsigned long)m->to, (unsigned long)m->term);
    switch (m->type) {
    case CRAFT_MSG_PREVOTE:
    case CRAFT_MSG_VOTE:
        fprintf(w->out, " last=%lu/%lu", (unsigned long)m->vote.last_index,
                (unsigned long)m->vote.last_term);
        break;
    case CRAFT_MSG_PREVOTE_RESP:
    case CRAFT_MSG_VOTE_RESP:
        fprintf(w->out, " granted=%d", m->vote_resp.granted);
        break;
    case CRAFT_MSG_APPEND:
        fprintf(w->out, " prev=%lu/%lu commit=%lu n=%u", (unsigned long)m->append.prev_index,
                (unsigned long)m->append.prev_term, (unsigned long)m->append.commit,
                m->append.n_entries);
        break;
    case CRAFT_MSG_APPEND_RESP:
        fprintf(w->out, " success=%d index=%lu", m->append_resp.success,
                (unsigned long)m->append_resp.index);
        if (!m->append_resp.success) {
            fprintf(w->out, " hint=%lu/%lu", (unsigned long)m->append_resp.hint_index,
                    (unsigned long)m->append_resp.hint_term);
        }
        break;
    }
    fputc('\n', w->out);
}

static void enqueue(struct world *w, const struct craft_msg *m)
{
    if (w->cut[m->from] || w->cut[m->to]) {
        return;
    }
    if (w->tail - w->head >= QUEUE_MAX) {
        fail("queue full");
    }
    struct queued *q = &w->queue[w->tail++ % QUEUE_MAX];
    q->msg = *m;
    if (m->type == CRAFT_MSG_APPEND) {
        if (m->append.n_entries > ENTRIES_MAX) {
            fail("too many entries for the trace queue");
        }
        for (uint32_t i = 0; i < m->append.n_entries; i++) {
            const struct craft_entry *e = &m->append.entries[i];
            if (e->data.len > DATA_MAX) {
                fail("entry too big for the trace queue");
            }
            q->entries[i] = *e;
            if (e->data.len > 0) {
                memcpy(q->data[i], e->data.base, e->data.len);
            }
            q->entries[i].data.base = q->data[i];
        }
        q->msg.append.entries = q->entries;
    }
}

static void step(struct world *w, unsigned node, const struct craft_input *in);

/* Prints an output, queues its messages and reports its entries durable at once. */
static void carry_out(struct world *w, unsigned node, const struct craft_output *o)
{
    if (o->hard_state_changed) {
        fprintf(w->out, "    persist hs term=%lu vote=%lu commit=%lu\n",
                (unsigned long)o->hard_state.term, (unsigned long)o->hard_state.vote,
                (unsigned long)o->hard_state.commit);
    }
    if (o->truncate_from != 0) {
        fprintf(w->out, "    truncate from=%lu\n", (unsigned long)o->truncate_from);
    }
    for (size_t i = 0; i < o->n_entries; i++) {
        fprintf(w->out, "    append %lu/%lu type=%u '%.*s'\n", (unsigned long)o->entries[i].index,
                (unsigned long)o->entries[i].term, o->entries[i].type,
                (int)o->entries[i].data.len, (const char *)o->entries[i].data.base);
    }
    for (size_t i = 0; i < o->n_events; i++) {
        const struct craft_event *ev = &o->events[i];
        if (ev->type == CRAFT_EVENT_ROLE) {
            fprintf(w->out, "    event role=%s term=%lu leader=%lu\n", craft_role_name(ev->role),
                    (unsigned long)ev->term, (unsigned long)ev->peer);
        } else {
            fprintf(w->out, "    event commit=%lu\n", (unsigned long)ev->index);
        }
    }
    for (size_t i = 0; i < o->n_committed; i++) {
        fprintf(w->out, "    apply %lu/%lu\n", (unsigned long)o->committed[i].index,
                (unsigned long)o->committed[i].term);
    }
    for (size_t i = 0; i < o->n_msgs; i++) {
        print_msg(w, &o->msgs[i], "send");
        enqueue(w, &o->msgs[i]);
    }
    for (size_t i = 0; i < o->n_msgs_after_persist; i++) {
        print_msg(w, &o->msgs_after_persist[i], "send-after-persist");
        enqueue(w, &o->msgs_after_persist[i]);
    }
    if (o->n_entries > 0) {
        const struct craft_entry *last = &o->entries[o->n_entries - 1];
        struct craft_input in = {.type = CRAFT_IN_PERSISTED};
        in.persisted.term = last->term;
        in.persisted.index = last->index;
        step(w, node, &in);
    }
}

static void step(struct world *w, unsigned node, const struct craft_input *in)
{
    static const char *const names[] = {"?",         "tick",    "msgs",    "propose",
                                        "persisted", "applied", "campaign"};
    fprintf(w->out, "n%u <- %s", node, names[in->type]);
    if (in->type == CRAFT_IN_TICK) {
        fprintf(w->out, " %lu", (unsigned long)in->tick.now_ms);
    } else if (in->type == CRAFT_IN_PERSISTED) {
        fprintf(w->out, " %lu/%lu", (unsigned long)in->persisted.index,
                (unsigned long)in->persisted.term);
    } else if (in->type == CRAFT_IN_MSGS) {
        fprintf(w->out, " %s from %lu", craft_msg_type_name(in->msgs.msgs[0].type),
                (unsigned long)in->msgs.msgs[0].from);
    }
    fputc('\n', w->out);
    struct craft_output o;
    int rv = craft_core_step(w->cores[node - 1], in, &o);
    if (rv != 0) {
        fprintf(w->out, "    rv=%s leader=%lu\n", craft_errname(rv),
                (unsigned long)craft_core_leader(w->cores[node - 1]));
    }
    carry_out(w, node, &o);
}

static void deliver_all(struct world *w)
{
    while (w->head < w->tail) {
        struct queued q = w->queue[w->head++ % QUEUE_MAX];
        if (q.msg.type == CRAFT_MSG_APPEND) {
            q.msg.append.entries = q.entries; /* the copy moved with the struct */
        }
        if (w->cut[q.msg.to]) {
            continue;
        }
        struct craft_input in = {.type = CRAFT_IN_MSGS};
        in.msgs.msgs = &q.msg;
        in.msgs.n = 1;
        step(w, (unsigned)q.msg.to, &in);
    }
}

static void tick_all(struct world *w, uint64_t ms)
{
    w->now += ms;
    for (unsigned i = 1; i <= w->n; i++) {
        struct craft_input in = {.type = CRAFT_IN_TICK};
        in.tick.now_ms = w->now;
        step(w, i, &in);
    }
}

static void campaign(struct world *w, unsigned node)
{
    struct craft_input in = {.type = CRAFT_IN_CAMPAIGN};
    step(w, node, &in);
}

static void propose(struct world *w, unsigned node, const char *cmd)
{
    struct craft_buf b = {.base = cmd, .len = strlen(cmd)};
    struct craft_input in = {.type = CRAFT_IN_PROPOSE};
    in.propose.cmds = &b;
    in.propose.n = 1;
    step(w, node, &in);
}

static void world_init(struct world *w, unsigned n, FILE *out)
{
    memset(w, 0, sizeof *w);
    w->n = n;
    w->out = out;
    w->queue = calloc(QUEUE_MAX, sizeof *w->queue);
    if (w->queue == NULL) {
        fail("out of memory");
    }
    craft_id voters[NODES_MAX];
    for (unsigned i = 0; i < n; i++) {
        voters[i] = i + 1;
    }
    for (unsigned i = 0; i < n; i++) {
        struct craft_core_config cfg;
        craft_core_config_init(&cfg);
        cfg.id = i + 1;
        cfg.voters = voters;
        cfg.n_voters = n;
        cfg.seed = 7;
        if (craft_core_create(&cfg, NULL, &w->cores[i]) != 0) {
            fail("craft_core_create");
        }
    }
    tick_all(w, 1); /* start the clocks */
}

static void world_close(struct world *w)
{
    for (unsigned i = 0; i < w->n; i++) {
        craft_core_destroy(w->cores[i]);
    }
    free(w->queue);
}

/* Node 1 wins an election, commits its no-op and one command; a follower refuses a proposal. */
static void scenario_election_and_commit(FILE *out)
{
    struct world w;
    world_init(&w, 3, out);
    campaign(&w, 1);
    deliver_all(&w);
    propose(&w, 1, "x=1");
    propose(&w, 2, "y=2");
    deliver_all(&w);
    tick_all(&w, 60); /* a heartbeat carries the commit index */
    deliver_all(&w);
    world_close(&w);
}

static unsigned leader_of(struct world *w)
{
    for (unsigned i = 1; i <= w->n; i++) {
        if (w->cut[i]) {
            continue; /* a cut-off leader may not know yet that it was replaced */
        }
        struct craft_core_status st;
        craft_core_status(w->cores[i - 1], &st);
        if (st.role == CRAFT_LEADER) {
            return i;
        }
    }
    return 0;
}

/* A leader cut off writes entries nobody sees; the rest elect a new leader, whose log replaces
 * the stale suffix when the old leader rejoins (truncate, then append). */
static void scenario_conflict_repair(FILE *out)
{
    struct world w;
    world_init(&w, 3, out);
    campaign(&w, 1);
    deliver_all(&w);
    w.cut[1] = true;
    propose(&w, 1, "lost-a");
    propose(&w, 1, "lost-b");
    /* Time passes for the connected pair until one of them leads. */
    unsigned leader = 0;
    for (int round = 0; round < 100 && leader == 0; round++) {
        w.now += 20;
        for (unsigned i = 2; i <= 3; i++) {
            struct craft_input in = {.type = CRAFT_IN_TICK};
            in.tick.now_ms = w.now;
            step(&w, i, &in);
        }
        deliver_all(&w);
        leader = leader_of(&w);
    }
    if (leader == 0) {
        fail("conflict_repair: no new leader");
    }
    propose(&w, leader, "kept");
    deliver_all(&w);
    w.cut[1] = false;
    tick_all(&w, 60);
    deliver_all(&w);
    world_close(&w);
}

/* A node that missed nothing but campaigns anyway is refused pre-votes inside the leader's lease
 * and does not raise its term. */
static void scenario_prevote_in_lease(FILE *out)
{
    struct world w;
    world_init(&w, 3, out);
    campaign(&w, 1);
    deliver_all(&w);
    tick_all(&w, 60);
    deliver_all(&w);
    campaign(&w, 3);
    deliver_all(&w);
    world_close(&w);
}

struct scenario {
    const char *name;
    void (*run)(FILE *out);
};

static const struct scenario scenarios[] = {
    {"election_and_commit", scenario_election_and_commit},
    {"conflict_repair", scenario_conflict_repair},
    {"prevote_in_lease", scenario_prevote_in_lease},
};

static int compare_or_rewrite(const struct scenario *s, const char *dir, bool rewrite)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.trace", dir, s->name);
    char *got = NULL;
    size_t got_len = 0;
    FILE *mem = open_memstream(&got, &got_len);
    if (mem == NULL) {
        fail("open_memstream");
    }
    s->run(mem);
    fclose(mem);
    int rv = 0;
    if (rewrite) {
        FILE *f = fopen(path, "w");
        if (f == NULL || fwrite(got, 1, got_len, f) != got_len || fclose(f) != 0) {
            fail("cannot write the golden trace");
        }
        printf("rewrote %s\n", path);
    } else {
        FILE *f = fopen(path, "r");
        char *want = calloc(1, got_len + 2);
        size_t want_len = f != NULL && want != NULL ? fread(want, 1, got_len + 1, f) : 0;
        if (f != NULL) {
            fclose(f);
        }
        if (f == NULL || want_len != got_len || memcmp(want, got, got_len) != 0) {
            fprintf(stderr, "trace %s differs from %s; run with --rewrite and review the diff\n",
                    s->name, path);
            rv = 1;
        } else {
            printf("trace %s matches\n", s->name);
        }
        free(want);
    }
    free(got);
    return rv;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: trace_runner <traces dir> [--rewrite] [--print NAME]\n");
        return 2;
    }
    size_t n = sizeof scenarios / sizeof scenarios[0];
    if (argc == 4 && strcmp(argv[2], "--print") == 0) {
        for (size_t i = 0; i < n; i++) {
            if (strcmp(scenarios[i].name, argv[3]) == 0) {
                scenarios[i].run(stdout);
                return 0;
            }
        }
        return 2;
    }
    bool rewrite = argc == 3 && strcmp(argv[2], "--rewrite") == 0;
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        failed += compare_or_rewrite(&scenarios[i], argv[1], rewrite);
    }
    return failed ? 1 : 0;
}
