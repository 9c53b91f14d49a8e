/* CRAFT_ASSERT: programmer errors abort in every build, with file, line and expression.
 * Never use it on input from the network, disk or a client: validate that instead. */
#ifndef CRAFT_UTIL_ASSERT_H
#define CRAFT_UTIL_ASSERT_H

_Noreturn void craft_assert_fail(const char *expr, const char *file, int line);

#define CRAFT_ASSERT(cond)                                                                         \
    do {                                                                                           \
        if (__builtin_expect(!(cond), 0)) {                                                        \
            craft_assert_fail(#cond, __FILE__, __LINE__);                                          \
        }                                                                                          \
    } while (0)

#endif
