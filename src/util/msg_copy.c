#include "msg_copy.h"

#include <string.h>

#include "alloc.h"

void *msg_copy_block(const struct craft_msg *m, size_t head, size_t copy_offset)
{
    size_t n = m->type == CRAFT_MSG_APPEND ? m->append.n_entries : 0;
    size_t data = 0;
    for (size_t i = 0; i < n; i++) {
        data += m->append.entries[i].data.len;
    }
    head = (head + 7) & ~(size_t)7;
    char *block = craft_malloc(head + n * sizeof(struct craft_entry) + data);
    if (block == NULL) {
        return NULL;
    }
    struct craft_msg *copy = (struct craft_msg *)(block + copy_offset);
    *copy = *m;
    if (n == 0) {
        return block;
    }
    struct craft_entry *ents = (struct craft_entry *)(block + head);
    char *bytes = (char *)(ents + n);
    for (size_t i = 0; i < n; i++) {
        ents[i] = m->append.entries[i];
        size_t len = ents[i].data.len;
        if (len > 0) {
            memcpy(bytes, ents[i].data.base, len);
        }
        ents[i].data.base = len > 0 ? bytes : NULL;
        bytes += len;
    }
    copy->append.entries = ents;
    return block;
}
