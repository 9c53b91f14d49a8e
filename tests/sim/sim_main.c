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
    const char *lab;
    const char *argv0;
};

/* Per worker totals, in shared memory so the parent can sum them. */
struct totals {
    uint64_t seeds;
    uint64_t steps;
    uint64_t elections;
    uint64_t commits;
    uint64_t violations;
    uint64_t hash;
    uint64_t first_violation_seed; /* 0: none */
    uint64_t sim_us;
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
            "                 [--safety-only]\n"
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
            "  --lab NAME           run one named lab scenario ('list' names them, 'all' runs all)\n"
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
        } else if (strcmp(a, "--lab") == 0 && has_value) {
            o->lab = argv[++i];
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
            } else if (strcmp(a, "--jobs") == 0 && v >= 1 && v <= 256) {
                o->jobs = (unsigned)v;
            } else {
                fprintf(stderr, "craft-sim: bad option or value: %s %s\n", a, argv[i]);
                return -1;
            }
        } else {
            fprintf(stderr, "craft-sim: unknown option or missing value: %s\n", a);
            return -1;
        }
    }
    return 0;
}

/* Worker w runs seeds seed_start + w, + jobs, ...: an even mix of seeds for every worker. */
static void run_worker(const struct options *o, unsigned w, struct shared *sh)
{
    struct totals *t = &sh->t[w];
    struct sim_run_options ro = {o->steps, o->nodes, o->show, o->safety_only, o->argv0};
    for (uint64_t k = w; k < o->seeds; k += o->jobs) {
        if (sh->stop) {
            break;
        }
        uint64_t seed = o->seed_start + k;
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
            if (o->stop_on_violation) {
                sh->stop = 1;
                break;
            }
        }
    }
    fflush(stdout);
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
    fflush(stdout);
    if (o->jobs == 1) {
        run_worker(o, 0, sh);
    } else {
        pid_t pids[256];
        for (unsigned w = 0; w < o->jobs; w++) {
            pids[w] = fork();
            if (pids[w] < 0) {
                perror("craft-sim: fork");
                return 2;
            }
            if (pids[w] == 0) {
                run_worker(o, w, sh);
                _exit(0);
            }
        }
        for (unsigned w = 0; w < o->jobs; w++) {
            int status = 0;
            if (waitpid(pids[w], &status, 0) < 0 || !WIFEXITED(status) ||
                WEXITSTATUS(status) != 0) {
                fprintf(stderr, "craft-sim: worker %u died (status 0x%x)\n", w, status);
                sh->t[w].violations++;
            }
        }
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
