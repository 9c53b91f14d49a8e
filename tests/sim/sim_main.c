/* craft-sim: the deterministic simulator's command line. Runs seeds (optionally in forked worker
 * processes, each deterministic per seed) or one named lab scenario, and ends with one summary
 * line: seeds=N steps=T elections=E commits=C violations=V. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim_config.h"
#include "sim_figures.h"
#include "sim_hash.h"
#include "sim_lab.h"
#include "sim_run.h"
#include "sim_swarm.h"
#include "util/assert.h"

/* At most this many --jobs workers. */
#define JOBS_MAX 256
/* Bytes of a dead worker's stderr quoted in its report (the end: where an assertion prints). */
#define DIED_STDERR_MAX 400

struct options {
    uint64_t seeds;
    uint64_t seed_start;
    uint64_t steps;
    unsigned nodes;
    unsigned jobs;
    bool show;
    bool trace_hash;
    bool stop_on_violation;
    bool safety_only;
    bool kv;
    bool selftest_abort;
    uint64_t selftest_abort_seed;
    uint64_t selftest_violate_step;
    const char *timeline;
    const char *kv_history;
    const char *lab;
    const char *argv0;
};

/* Per worker totals, in shared memory so the parent can sum them. The worker also says where it
 * is (next_k, running, current_seed), so that when it dies the parent can name the seed it was
 * running and start a new worker for the rest of its seeds. */
struct totals {
    uint64_t seeds;
    uint64_t steps;
    uint64_t elections;
    uint64_t commits;
    uint64_t violations;
    uint64_t hash;
    uint64_t first_violation_seed; /* 0: none */
    uint64_t sim_us;
    uint64_t next_k;       /* index (from seed_start) of the seed it runs or runs next */
    uint64_t current_seed; /* valid while running */
    int running;           /* 1 from just before a seed starts until its totals are in */
    struct sim_figures fig;
};

struct shared {
    volatile int stop;
    struct totals t[]; /* one per worker */
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: craft-sim [--seeds N] [--seed-start S] [--steps M] [--nodes K] [--jobs J]\n"
            "                 [--seed X] [--show] [--trace-hash] [--stop-on-violation]\n"
            "                 [--safety-only] [--kv] [--kv-history FILE] [--timeline FILE.html]\n"
            "       craft-sim --lab NAME|all|list [--seed X]\n"
            "\n"
            "Runs the real craft core on 3, 5 or 7 simulated nodes in one thread, from one 64-bit\n"
            "seed per run, and checks Raft's safety properties after every step (one step = one\n"
            "event: a delivery, a tick, a disk completion, a crash, a restart, a proposal, a fault).\n"
            "\n"
            "  --seeds N            seeds to run (default 1)\n"
            "  --seed-start S       first seed (default 1)\n"
            "  --seed X             run exactly seed X (same as --seeds 1 --seed-start X)\n"
            "  --steps M            steps per seed (default %d); the last %d%% are the healed phase\n"
            "  --nodes K            3, 5 or 7; 0 (default) lets each seed draw 3, 5 or 7\n"
            "  --jobs J             fork J workers over the seeds (results do not depend on J)\n"
            "  --show               print roles, commits, crashes, partitions and heals as they happen\n"
            "  --trace-hash         print a hash of every seed's whole event trace\n"
            "  --stop-on-violation  stop at the first violating seed\n"
            "  --safety-only        judge by the safety properties alone: turn off the protocol-rule\n"
            "                       checks vote_durable, ack_durable, leader_commit_current_term\n"
            "  --kv                 run the KV workload in every seed (else about 30%% draw it):\n"
            "                       KV clients, their history checked for linearizability\n"
            "  --kv-history FILE    with one seed: write the KV history checked at its end\n"
            "                       (craft-lincheck's format: craft-lincheck FILE checks it again)\n"
            "  --timeline FILE      with one seed: draw the run as one self-contained HTML page\n"
            "                       (roles, terms, logs, faults, messages, the violation)\n"
            "  --lab NAME           run one named lab scenario ('list' names them, 'all' runs all)\n"
            "\n"
            "Test-only (the simulator's own ctests):\n"
            "  --selftest-abort-at-seed X     abort (a failed CRAFT_ASSERT) halfway through seed X\n"
            "  --selftest-violate-at-step N   record a synthetic violation at step N of every seed\n"
            "\n"
            "Bounds: election timeout %d..%d ms, heartbeat %d ms, tick %d ms; liveness: after the\n"
            "heal a new command must commit on a majority within SIM_LIVENESS_BOUND_MS = %d ms of\n"
            "simulated time. Exit status is non-zero when violations > 0.\n",
            SIM_DEFAULT_STEPS, SIM_HEAL_PERCENT, SIM_ELECTION_TIMEOUT_MS_MIN,
            SIM_ELECTION_TIMEOUT_MS_MAX, SIM_HEARTBEAT_MS, SIM_TICK_US / 1000, SIM_LIVENESS_BOUND_MS);
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-') {
        return false;
    }
    *out = v;
    return true;
}

static int parse(int argc, char **argv, struct options *o)
{
    memset(o, 0, sizeof(*o));
    o->seeds = 1;
    o->seed_start = 1;
    o->steps = SIM_DEFAULT_STEPS;
    o->jobs = 1;
    o->argv0 = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        uint64_t v = 0;
        bool has_value = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--show") == 0) {
            o->show = true;
        } else if (strcmp(a, "--trace-hash") == 0) {
            o->trace_hash = true;
        } else if (strcmp(a, "--stop-on-violation") == 0) {
            o->stop_on_violation = true;
        } else if (strcmp(a, "--safety-only") == 0) {
            o->safety_only = true;
        } else if (strcmp(a, "--kv") == 0) {
            o->kv = true;
        } else if (strcmp(a, "--lab") == 0 && has_value) {
            o->lab = argv[++i];
        } else if (strcmp(a, "--timeline") == 0 && has_value) {
            o->timeline = argv[++i];
        } else if (strcmp(a, "--kv-history") == 0 && has_value) {
            o->kv_history = argv[++i];
        } else if (has_value && parse_u64(argv[i + 1], &v)) {
            i++;
            if (strcmp(a, "--seeds") == 0) {
                o->seeds = v;
            } else if (strcmp(a, "--seed-start") == 0) {
                o->seed_start = v;
            } else if (strcmp(a, "--seed") == 0) {
                o->seed_start = v;
                o->seeds = 1;
            } else if (strcmp(a, "--steps") == 0 && v >= 1) {
                o->steps = v;
            } else if (strcmp(a, "--nodes") == 0 && (v == 0 || v == 3 || v == 5 || v == 7)) {
                o->nodes = (unsigned)v;
            } else if (strcmp(a, "--jobs") == 0 && v >= 1 && v <= JOBS_MAX) {
                o->jobs = (unsigned)v;
            } else if (strcmp(a, "--selftest-abort-at-seed") == 0) {
                o->selftest_abort = true;
                o->selftest_abort_seed = v;
            } else if (strcmp(a, "--selftest-violate-at-step") == 0 && v >= 1) {
                o->selftest_violate_step = v;
            } else {
                fprintf(stderr, "craft-sim: bad option or value: %s %s\n", a, argv[i]);
                return -1;
            }
        } else {
            fprintf(stderr, "craft-sim: unknown option or missing value: %s\n", a);
            return -1;
        }
    }
    if (o->kv_history != NULL && (o->seeds != 1 || o->lab != NULL)) {
        fprintf(stderr, "craft-sim: --kv-history writes one seed's: use it with --seed X\n");
        return 2;
    }
    if (o->timeline != NULL && (o->seeds != 1 || o->lab != NULL)) {
        fprintf(stderr, "craft-sim: --timeline draws one seed: use it with --seed X\n");
        return -1;
    }
    return 0;
}

/* Worker w runs seeds seed_start + w, + jobs, ...: an even mix of seeds for every worker. It
 * starts at t->next_k, so a worker started after one died goes on where that one stopped. */
static void run_worker(const struct options *o, unsigned w, struct shared *sh)
{
    struct totals *t = &sh->t[w];
    struct sim_run_options ro = {
        .steps = o->steps,
        .nodes = o->nodes,
        .show = o->show,
        .safety_only = o->safety_only,
        .kv = o->kv,
        .argv0 = o->argv0,
        .timeline = o->timeline,
        .kv_history = o->kv_history,
        .selftest_violate_step = o->selftest_violate_step,
    };
    for (uint64_t k = t->next_k; k < o->seeds; k += o->jobs) {
        if (sh->stop) {
            break;
        }
        uint64_t seed = o->seed_start + k;
        ro.selftest_abort = o->selftest_abort && seed == o->selftest_abort_seed;
        t->next_k = k;
        t->current_seed = seed;
        /* Stored before the seed runs: if it kills the worker, the parent sees which. */
        __atomic_store_n(&t->running, 1, __ATOMIC_SEQ_CST);
        struct sim_run_result r;
        sim_run_seed(seed, &ro, stdout, &r);
        t->seeds++;
        t->steps += r.steps;
        t->elections += r.elections;
        t->commits += r.commits;
        t->violations += r.violations;
        t->sim_us += r.sim_us;
        sim_figures_add(&t->fig, &r.fig);
        /* Order-independent, so the hash does not depend on --jobs. */
        t->hash += sim_hash_combine(sim_mix64(seed), r.trace_hash);
        if (r.violations > 0) {
            if (t->first_violation_seed == 0 || seed < t->first_violation_seed) {
                t->first_violation_seed = seed;
            }
        }
        t->next_k = k + o->jobs;
        __atomic_store_n(&t->running, 0, __ATOMIC_SEQ_CST);
        if (r.violations > 0 && o->stop_on_violation) {
            sh->stop = 1;
            break;
        }
    }
    fflush(stdout);
}

/* A worker process: its stderr goes to a file of the parent's (owned by the parent), which the
 * parent forwards when the worker ends and quotes if it died. */
struct worker {
    pid_t pid; /* 0: not running */
    FILE *err; /* owned; NULL when not running */
};

static int worker_start(const struct options *o, unsigned w, struct shared *sh, struct worker *wk)
{
    wk->err = tmpfile();
    if (wk->err == NULL) {
        perror("craft-sim: tmpfile");
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    wk->pid = fork();
    if (wk->pid < 0) {
        perror("craft-sim: fork");
        fclose(wk->err);
        wk->err = NULL;
        wk->pid = 0;
        return -1;
    }
    if (wk->pid == 0) {
        dup2(fileno(wk->err), STDERR_FILENO);
        run_worker(o, w, sh);
        /* exit, not _exit: the leak checker of a sanitizer build runs at exit, and the parent
         * flushed its buffers before the fork, so nothing is written twice. */
        exit(0);
    }
    return 0;
}

/* Copies the ended worker's stderr to ours and keeps its last DIED_STDERR_MAX bytes (one line
 * per line of it, tab-free) in tail. */
static void worker_collect_stderr(struct worker *wk, char *tail, size_t n)
{
    CRAFT_ASSERT(n > DIED_STDERR_MAX);
    tail[0] = '\0';
    size_t kept = 0;
    char buf[4096];
    size_t got;
    rewind(wk->err);
    while ((got = fread(buf, 1, sizeof buf, wk->err)) > 0) {
        fwrite(buf, 1, got, stderr);
        for (size_t i = 0; i < got; i++) {
            if (kept == DIED_STDERR_MAX) {
                memmove(tail, tail + 1, kept - 1);
                kept--;
            }
            tail[kept++] = buf[i];
        }
    }
    tail[kept] = '\0';
    fflush(stderr);
    fclose(wk->err);
    wk->err = NULL;
}

/* The worker of slot w died (a signal, or a non-zero exit): a violation, reported like the
 * checkers' ones, and the seed it was running counts as run. */
static void worker_died(const struct options *o, unsigned w, struct shared *sh, int status,
                        const char *err_tail)
{
    struct totals *t = &sh->t[w];
    t->violations++;
    char how[128];
    if (WIFSIGNALED(status)) {
        snprintf(how, sizeof how, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    } else {
        snprintf(how, sizeof how, "ended by exit status %d",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    if (!t->running) {
        printf("VIOLATION invariant=worker_died worker=%u (between seeds): %s\n", w, how);
        fprintf(stderr, "craft-sim: worker %u died between seeds: %s\n", w, how);
    } else {
        uint64_t seed = t->current_seed;
        struct sim_params p;
        enum sim_swarm_profile pf;
        sim_swarm_draw(seed, o->nodes, &p, &pf);
        printf("VIOLATION seed=%" PRIu64 " invariant=worker_died %s=%d\n", seed,
               WIFSIGNALED(status) ? "signal" : "exit",
               WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        printf("  the worker process running seed %" PRIu64 " was %s\n", seed, how);
        /* Its last stderr lines: a failed CRAFT_ASSERT or a sanitizer names itself there. */
        const char *line = err_tail;
        while (*line != '\0') {
            const char *end = strchr(line, '\n');
            int len = end != NULL ? (int)(end - line) : (int)strlen(line);
            if (len > 0) {
                printf("  stderr: %.*s\n", len, line);
            }
            line += len + (end != NULL);
        }
        printf("  replay: %s --seed %" PRIu64 " --steps %" PRIu64 " --nodes %u%s%s\n", o->argv0,
               seed, o->steps, p.n_nodes, o->safety_only ? " --safety-only" : "",
               o->kv ? " --kv" : "");
        t->seeds++;
        t->next_k += o->jobs;
        if (t->first_violation_seed == 0 || seed < t->first_violation_seed) {
            t->first_violation_seed = seed;
        }
        t->running = 0;
    }
    fflush(stdout);
    if (o->stop_on_violation) {
        sh->stop = 1;
    }
}

/* Runs every worker to the end of its seeds: one that dies is reported and replaced by a new
 * one for the seeds it had left. Even --jobs 1 runs in a child, so a crash is never lost. */
static int run_workers(const struct options *o, struct shared *sh)
{
    struct worker wk[JOBS_MAX];
    unsigned alive = 0;
    int rv = 0;
    memset(wk, 0, sizeof wk);
    for (unsigned w = 0; w < o->jobs; w++) {
        sh->t[w].next_k = w;
        if (worker_start(o, w, sh, &wk[w]) != 0) {
            rv = 2;
            break;
        }
        alive++;
    }
    while (alive > 0) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR) {
                continue;
            }
            perror("craft-sim: waitpid");
            return 2;
        }
        unsigned w = 0;
        while (w < o->jobs && wk[w].pid != pid) {
            w++;
        }
        if (w == o->jobs) {
            continue;
        }
        alive--;
        wk[w].pid = 0;
        char tail[DIED_STDERR_MAX + 1];
        worker_collect_stderr(&wk[w], tail, sizeof tail);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            continue;
        }
        worker_died(o, w, sh, status, tail);
        if (rv == 0 && !sh->stop && sh->t[w].next_k < o->seeds) {
            if (worker_start(o, w, sh, &wk[w]) != 0) {
                rv = 2;
                continue;
            }
            alive++;
        }
    }
    return rv;
}

static int run_seeds(const struct options *o)
{
    size_t size = sizeof(struct shared) + o->jobs * sizeof(struct totals);
    struct shared *sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        perror("craft-sim: mmap");
        return 2;
    }
    memset(sh, 0, size);
    struct timespec t0;
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rv = run_workers(o, sh);
    if (rv != 0) {
        munmap(sh, size);
        return rv;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    static struct totals sum;
    for (unsigned w = 0; w < o->jobs; w++) {
        const struct totals *t = &sh->t[w];
        sum.seeds += t->seeds;
        sum.steps += t->steps;
        sum.elections += t->elections;
        sum.commits += t->commits;
        sum.violations += t->violations;
        sum.hash += t->hash;
        sum.sim_us += t->sim_us;
        sim_figures_merge(&sum.fig, &t->fig);
        if (t->first_violation_seed != 0 &&
            (sum.first_violation_seed == 0 || t->first_violation_seed < sum.first_violation_seed)) {
            sum.first_violation_seed = t->first_violation_seed;
        }
    }
    munmap(sh, size);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr,
            "craft-sim: %.2f s wall, %.0f steps/s (%u jobs), %.1f s simulated%s\n", wall,
            wall > 0 ? (double)sum.steps / wall : 0.0, o->jobs, (double)sum.sim_us / 1e6,
            o->stop_on_violation && sum.violations > 0 ? ", stopped at the first violation" : "");
    sim_figures_print(&sum.fig, stderr);
    if (sum.first_violation_seed != 0) {
        printf("first violating seed: %" PRIu64 " (seed number %" PRIu64 " of the range)\n",
               sum.first_violation_seed, sum.first_violation_seed - o->seed_start + 1);
    }
    if (o->trace_hash) {
        printf("trace-hash=%016" PRIx64 "\n", sum.hash);
    }
    printf("seeds=%" PRIu64 " steps=%" PRIu64 " elections=%" PRIu64 " commits=%" PRIu64
           " violations=%" PRIu64 "\n",
           sum.seeds, sum.steps, sum.elections, sum.commits, sum.violations);
    fflush(stdout);
    return sum.violations > 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct options o;
    if (parse(argc, argv, &o) != 0) {
        usage(stderr);
        return 2;
    }
    if (o.lab != NULL) {
        if (strcmp(o.lab, "list") == 0) {
            sim_lab_list(stdout);
            return 0;
        }
        uint64_t seed = o.seed_start;
        return sim_lab_run(o.lab, seed) == 0 ? 0 : 1;
    }
    signal(SIGPIPE, SIG_IGN);
    return run_seeds(&o);
}
