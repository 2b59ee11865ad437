/* ops/op_table.c — the list of built-in op records, made from op_list.h. */
#include <string.h>

#include "ops/op_internal.h"

static const tg_op *const builtin_ops[] = {
#define TG_OP(name) &tg_op_##name,
#include "ops/op_list.h"
#undef TG_OP
};

int tg_builtin_op_count(void) { return (int)(sizeof builtin_ops / sizeof builtin_ops[0]); }

const tg_op *tg_builtin_op(int index) {
    if (index < 0 || index >= tg_builtin_op_count()) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_builtin_op", "index %d out of range [0, %d)", index,
                        tg_builtin_op_count());
        return NULL;
    }
    return builtin_ops[index];
}

const tg_op *tg_find_op(const char *name) {
    if (!name) {
        tg_error_report(TG_ERR_ARGUMENT, "tg_find_op", "name is NULL");
        return NULL;
    }
    for (int i = 0; i < tg_builtin_op_count(); i++)
        if (strcmp(builtin_ops[i]->name, name) == 0) return builtin_ops[i];
    return NULL;
}
