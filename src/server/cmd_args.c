/* A command's arguments copied into one allocation: the argv and lens arrays and the bytes. */
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
