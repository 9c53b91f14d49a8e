/* libFuzzer target: the hard state slot decoder and hard_state_open over an arbitrary file. A slot
 * that decodes as valid must encode back to the same bytes (nothing unchecked is accepted). */
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "storage/hard_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= HARD_STATE_SLOT_BYTES) {
        uint64_t seq;
        struct craft_hard_state hs;
        int v = hard_state_slot_decode(data, &seq, &hs);
        FUZZ_CHECK(v >= -1 && v <= 1);
        if (v == 1) {
            unsigned char again[HARD_STATE_SLOT_BYTES];
            hard_state_slot_encode(seq, &hs, again);
            FUZZ_CHECK(memcmp(again, data, HARD_STATE_SLOT_BYTES) == 0);
        }
    }
    if (size > 2 * HARD_STATE_SLOT_STRIDE) {
        return 0;
    }
    struct io_fs_sim *sim;
    if (io_fs_sim_create(1, &sim) != 0) {
        return 0;
    }
    struct io_fs *fs = io_fs_sim_fs(sim);
    if (fuzz_put_file(fs, HARD_STATE_FILE, data, size) == 0) {
        struct hard_state_file *h = NULL;
        struct craft_hard_state hs;
        char errmsg[256];
        int rv = hard_state_open(fs, &h, &hs, errmsg, sizeof errmsg);
        FUZZ_CHECK(rv == 0 || rv == CRAFT_ECORRUPT);
        if (rv == 0) {
            /* A save after any accepted file must be what the next open loads. */
            struct craft_hard_state next = {hs.term + 1, 7, hs.commit};
            if (hard_state_save(h, &next) == 0) {
                hard_state_close(h);
                h = NULL;
                struct craft_hard_state got;
                FUZZ_CHECK(hard_state_open(fs, &h, &got, errmsg, sizeof errmsg) == 0);
                FUZZ_CHECK(got.term == next.term && got.vote == next.vote);
            }
            hard_state_close(h);
        }
    }
    io_fs_sim_destroy(sim);
    return 0;
}
