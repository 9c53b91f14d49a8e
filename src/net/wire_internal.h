/* Shared by the wire codec's files: the header's layout, the error helper, and each body's
 * encoder and decoder (docs/WIRE_FORMAT.md). Not for use outside src/net/wire_*.c. */
#ifndef CRAFT_NET_WIRE_INTERNAL_H
#define CRAFT_NET_WIRE_INTERNAL_H

#include "wire.h"

/* Header offsets. */
#define WIRE_OFF_MAGIC 0
#define WIRE_OFF_VERSION 4
#define WIRE_OFF_TYPE 5
#define WIRE_OFF_FLAGS 6
#define WIRE_OFF_GROUP 8
#define WIRE_OFF_FROM 16
#define WIRE_OFF_TO 24
#define WIRE_OFF_LENGTH 32
#define WIRE_OFF_CRC 36
static_assert(WIRE_OFF_CRC + 4 == WIRE_HEADER_BYTES, "the checksum ends the header");

/* Writes "what" (printf-style) into errmsg when there is one and returns rv. */
int wire_fail(char *errmsg, size_t errmsg_len, int rv, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Checks a body of len bytes against the fixed size a type needs: 0, or CRAFT_ECORRUPT for a
 * short body or trailing bytes. */
int wire_body_fixed(const char *what, size_t len, size_t want, char *errmsg, size_t errmsg_len);

/* A strict bool: 0 or 1, else CRAFT_ECORRUPT naming the field. */
int wire_get_bool(const unsigned char *p, const char *field, bool *out, char *errmsg,
                  size_t errmsg_len);

/* Writes the header for a body of body_len bytes that follows at b + WIRE_HEADER_BYTES, then
 * seals the frame with its checksum. */
void wire_header_seal(unsigned char *b, uint8_t type, uint64_t group, craft_id from, craft_id to,
                      size_t body_len);

/* Raft messages (wire_msg.c). */
size_t wire_msg_body_size(const struct craft_msg *m);
void wire_msg_body_put(const struct craft_msg *m, unsigned char *body);
int wire_msg_body_get(uint32_t type, const unsigned char *body, size_t len,
                      struct wire_scratch *scratch, struct craft_msg *m, char *errmsg,
                      size_t errmsg_len);
/* Asserts what the encoder relies on: a message the core can have made. */
void wire_msg_assert_valid(const struct craft_msg *m);

/* The handshake and the snapshot stream (wire_hello.c, wire_snap.c). */
void wire_hello_body_put(const struct wire_hello *h, unsigned char *body);
int wire_hello_body_get(const unsigned char *body, size_t len, struct wire_hello *h, char *errmsg,
                        size_t errmsg_len);
void wire_chunk_body_put(const struct wire_snap_chunk *c, unsigned char *body);
int wire_chunk_body_get(const unsigned char *body, size_t len, struct wire_snap_chunk *c,
                        char *errmsg, size_t errmsg_len);
void wire_ack_body_put(const struct wire_snap_ack *a, unsigned char *body);
int wire_ack_body_get(const unsigned char *body, size_t len, struct wire_snap_ack *a, char *errmsg,
                      size_t errmsg_len);

#endif
