/* A command's arguments copied into one allocation (the argv and lens arrays and the bytes), and
 * reading a number argument. */
#include <stdlib.h>
#include <string.h>

#include "server/server.h"
#include "util/alloc.h"

int cmd_args_copy(struct cmd_args *a, int argc, const char *const *argv, const size_t *lens)
{
    size_t bytes = 0;
    for (int i = 0; i < argc; i++) {
        bytes += lens[i];
    }
    size_t head = (size_t)argc * (sizeof(char *) + sizeof(size_t));
    char *mem = craft_malloc(head + bytes + 1);
    if (mem == NULL) {
        return CRAFT_ENOMEM;
    }
    a->argv = (const char **)(void *)mem;
    a->lens = (size_t *)(void *)(mem + (size_t)argc * sizeof(char *));
    char *p = mem + head;
    for (int i = 0; i < argc; i++) {
        memcpy(p, argv[i], lens[i]);
        a->argv[i] = p;
        a->lens[i] = lens[i];
        p += lens[i];
    }
    a->argc = argc;
    return 0;
}

void cmd_args_free(struct cmd_args *a)
{
    craft_free(a->argv); /* the one allocation starts with argv */
    a->argv = NULL;
    a->lens = NULL;
    a->argc = 0;
}

bool request_take_args(struct request *r, int argc, const char *const *argv, const size_t *lens)
{
    if (cmd_args_copy(&r->one, argc, argv, lens) != 0) {
        resp_reply_error(&r->reply, "ERR out of memory");
        r->done = true;
        return false;
    }
    r->cmds = &r->one;
    r->n_cmds = 1;
    return true;
}

bool arg_u64(const char *p, size_t n, uint64_t *out)
{
    char buf[24];
    char *end;
    if (n == 0 || n >= sizeof buf || p[0] < '0' || p[0] > '9') {
        return false;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
    *out = strtoull(buf, &end, 10);
    return *end == '\0';
}
