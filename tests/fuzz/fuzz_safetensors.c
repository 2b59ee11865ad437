/* tests/fuzz/fuzz_safetensors.c — the checkpoint reader (io/safetensors.c).
 *
 * The whole-file checksum would refuse almost every mutation before the
 * parser's later checks run, so each input is opened twice: once with the
 * checksum skipped (the fuzzer's real coverage: header JSON, entries, ranges,
 * names, then every accessor on what was accepted), once verified (the
 * checksum's own parsing and hashing, fed by the valid seed files). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "io/checkpoint_internal.h"
#include "tests/fuzz/fuzz.h"

static uint8_t *copy_of(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (copy) memcpy(copy, data, size);
    return copy;
}

/* Walks everything an accepted checkpoint offers. */
static void use_checkpoint(const tg_checkpoint *ck)
{
    int count = tg_checkpoint_count(ck);
    for (int i = 0; i < count; ++i) {
        const tg_checkpoint_entry *e = tg_checkpoint_entry_at(ck, i);
        if (!e || tg_checkpoint_find(ck, e->name) != e) abort(); /* names are unique */
        tg_tensor *t = tg_checkpoint_read_tensor(ck, e->name);
        /* An accepted F32 or F64 entry is a tensor's shape: reading it works. */
        bool readable = strcmp(e->dtype, "F32") == 0 || strcmp(e->dtype, "F64") == 0;
        if (!t && readable) abort();
        if (t) {
            int64_t numel = 1;
            for (int d = 0; d < e->rank; ++d) numel *= e->shape[d];
            if (t->numel != numel || t->rank != e->rank) abort();
            tg_status status = tg_checkpoint_read_into(ck, 1, &e->name, &t);
            if (status != TG_OK) abort();
            /* Into the other float dtype: converted, or refused by the rule. */
            tg_tensor *other = tg_empty(t->dtype == TG_F32 ? TG_F64 : TG_F32, t->rank, t->shape);
            status = other ? tg_checkpoint_read_into(ck, 1, &e->name, &other) : TG_OK;
            if (status != TG_OK && status != TG_ERR_DTYPE) abort();
            tg_free(other);
            tg_free(t);
        }
    }
    (void)tg_checkpoint_metadata(ck, TG_CHECKPOINT_CHECKSUM_KEY);
    (void)tg_checkpoint_metadata(ck, "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_return_errors();
    uint8_t *file = copy_of(data, size);
    if (!file) return 0;
    tg_checkpoint *ck = tgi_checkpoint_open_bytes("fuzz_safetensors", "input", file, size, false);
    if (ck) use_checkpoint(ck);
    tg_checkpoint_close(ck);

    file = copy_of(data, size);
    if (!file) return 0;
    ck = tgi_checkpoint_open_bytes("fuzz_safetensors", "input", file, size, true);
    if (ck) use_checkpoint(ck);
    tg_checkpoint_close(ck);
    return 0;
}
