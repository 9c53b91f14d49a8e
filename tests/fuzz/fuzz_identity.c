/* libFuzzer target: the identity decoder and identity_claim over an arbitrary identity file. An
 * accepted file must be exactly what identity_encode writes for the ids it names. */
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "storage/identity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    craft_id node = 0;
    uint64_t cluster = 0;
    int rv = identity_decode(data, size, &node, &cluster);
    FUZZ_CHECK(rv == 0 || rv == CRAFT_ECORRUPT);
    if (rv == 0) {
        unsigned char again[IDENTITY_BYTES];
        identity_encode(node, cluster, again);
        FUZZ_CHECK(size == IDENTITY_BYTES && memcmp(again, data, size) == 0);
    }
    if (size > 4096) {
        return 0;
    }
    struct io_fs_sim *sim;
    if (io_fs_sim_create(1, &sim) != 0) {
        return 0;
    }
    struct io_fs *fs = io_fs_sim_fs(sim);
    if (fuzz_put_file(fs, IDENTITY_FILE, data, size) == 0) {
        char errmsg[256];
        int claim =
            identity_claim(fs, rv == 0 ? node : 1, rv == 0 ? cluster : 1, errmsg, sizeof errmsg);
        FUZZ_CHECK(rv == 0 ? claim == 0 : claim == CRAFT_ECORRUPT);
        if (rv == 0) {
            FUZZ_CHECK(identity_claim(fs, node + 1, cluster, errmsg, sizeof errmsg) ==
                       CRAFT_EMISMATCH);
        }
    }
    io_fs_sim_destroy(sim);
    return 0;
}
