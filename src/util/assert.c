/* The failure path of CRAFT_ASSERT. */
#include "assert.h"

#include <stdio.h>
#include <stdlib.h>

void craft_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "craft: assertion failed: %s (%s:%d)\n", expr, file, line);
    fflush(stderr);
    abort();
}
