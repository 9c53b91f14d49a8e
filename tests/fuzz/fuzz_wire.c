/* libFuzzer target: the wire decoder (src/net/wire.h) over arbitrary bytes, taken as they come
 * and again with the length and checksum fields made right, so the body validation is reached
 * too. Whatever decodes must re-encode to exactly the same bytes; whatever wire_frame_size
 * measures must agree with the decoder. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "net/wire.h"
#include "util/byteorder.h"
#include "util/crc32c.h"

static size_t reencode(const struct wire_frame *f, unsigned char *buf, size_t cap)
{
    switch (f->type) {
    case WIRE_FRAME_HELLO:
        FUZZ_CHECK(cap >= wire_hello_size());
        return wire_encode_hello(&f->hello, f->to, buf, cap);
    case WIRE_FRAME_SNAP_CHUNK:
        FUZZ_CHECK(cap >= wire_chunk_size(&f->chunk));
        return wire_encode_chunk(f->group, f->from, f->to, &f->chunk, buf, cap);
    case WIRE_FRAME_SNAP_ACK:
        FUZZ_CHECK(cap >= wire_ack_size());
        return wire_encode_ack(f->group, f->from, f->to, &f->ack, buf, cap);
    }
    FUZZ_CHECK(cap >= wire_msg_size(&f->msg));
    return wire_encode_msg(f->group, &f->msg, buf, cap);
}

static void check_one(const uint8_t *data, size_t size, struct wire_scratch *scratch)
{
    struct wire_frame f;
    char errmsg[160];
    int rv = wire_decode(data, size, scratch, &f, errmsg, sizeof errmsg);
    FUZZ_CHECK(rv == 0 || rv == CRAFT_ECORRUPT || rv == CRAFT_EINVAL || rv == CRAFT_ENOMEM);

    size_t need = 0;
    int measured = wire_frame_size(data, size, WIRE_BODY_MAX_DEFAULT, &need, NULL, 0);
    if (rv == 0) {
        FUZZ_CHECK(measured == 0 && need == size);
        unsigned char *again = malloc(size);
        FUZZ_CHECK(again != NULL);
        size_t n = reencode(&f, again, size);
        FUZZ_CHECK(n == size);
        FUZZ_CHECK(memcmp(again, data, size) == 0);
        free(again);
    } else if (measured == 0) {
        FUZZ_CHECK(need >= 40);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wire_scratch scratch;
    wire_scratch_init(&scratch);
    check_one(data, size, &scratch);
    if (size >= WIRE_HEADER_BYTES) {
        uint8_t *fixed = malloc(size);
        FUZZ_CHECK(fixed != NULL);
        memcpy(fixed, data, size);
        put_u32le(fixed + 32, (uint32_t)(size - WIRE_HEADER_BYTES));
        uint32_t crc = crc32c(crc32c(0, fixed, 36), fixed + 40, size - WIRE_HEADER_BYTES);
        put_u32le(fixed + 36, crc);
        check_one(fixed, size, &scratch);
        free(fixed);
    }
    wire_scratch_close(&scratch);
    return 0;
}
