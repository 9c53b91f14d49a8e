/* A user's first program against an installed craft (built by install_test.sh with pkg-config
 * only): a one-voter core wins its election, commits a command, and is destroyed. Exits 0 when
 * all of that happened, 1 after saying what did not. */
#include <craft/core.h>
#include <stdio.h>
#include <string.h>

static int fail(const char *what, int rv)
{
    fprintf(stderr, "hello_craft: %s (%d: %s)\n", what, rv, craft_strerror(rv));
    return 1;
}

/* Feeds CRAFT_IN_PERSISTED for everything the core has appended, as storage would. */
static int persist_all(struct craft_core *core, struct craft_output *out)
{
    struct craft_core_status st;
    craft_core_status(core, &st);
    struct craft_input in = {.type = CRAFT_IN_PERSISTED,
                             .persisted = {.term = st.last_term, .index = st.last_index}};
    return craft_core_step(core, &in, out);
}

int main(void)
{
    const craft_id voters[] = {1};
    struct craft_core_config cfg;
    craft_core_config_init(&cfg);
    cfg.id = 1;
    cfg.voters = voters;
    cfg.n_voters = 1;
    cfg.seed = 42;
    struct craft_core *core = NULL;
    int rv = craft_core_create(&cfg, NULL, &core);
    if (rv != 0) {
        return fail("craft_core_create", rv);
    }
    int result = 1;
    struct craft_output out;
    struct craft_input campaign = {.type = CRAFT_IN_CAMPAIGN};
    rv = craft_core_step(core, &campaign, &out);
    if (rv == 0) {
        rv = persist_all(core, &out);
    }
    struct craft_core_status st;
    craft_core_status(core, &st);
    if (rv != 0 || st.role != CRAFT_LEADER) {
        fail("the single voter does not lead after its campaign", rv);
        goto out;
    }
    static const char hello[] = "hello, craft";
    struct craft_buf cmd = {hello, sizeof hello};
    struct craft_input propose = {.type = CRAFT_IN_PROPOSE, .propose = {.cmds = &cmd, .n = 1}};
    rv = craft_core_step(core, &propose, &out);
    if (rv == 0) {
        rv = persist_all(core, &out);
    }
    if (rv != 0) {
        fail("propose", rv);
        goto out;
    }
    /* A single voter commits what it has made durable: the command comes out committed. */
    bool committed = false;
    for (size_t i = 0; i < out.n_committed; i++) {
        const struct craft_buf *d = &out.committed[i].data;
        committed |= d->len == sizeof hello && memcmp(d->base, hello, sizeof hello) == 0;
    }
    if (!committed) {
        fail("the command was not committed", 0);
        goto out;
    }
    printf("hello_craft: node %llu leads term %llu and committed index %llu\n",
           (unsigned long long)st.id, (unsigned long long)st.term,
           (unsigned long long)out.committed[out.n_committed - 1].index);
    result = 0;
out:
    craft_core_destroy(core);
    return result;
}
