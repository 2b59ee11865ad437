/* optim/state.c — saving an optimizer's state to a safetensors file and
 * restoring it (the layout is documented in optim.h). Loading is all or
 * nothing: the metadata is parsed and checked, fresh state tensors are read
 * from the file, and only then are they swapped in. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad/error.h"
#include "optim_internal.h"
#include "tapegrad/checkpoint.h"

#define FORMAT_VERSION "1"
#define KEY_PREFIX "tapegrad.optim."
#define TEXT_SIZE 192 /* a key, a "%.17g" double or a shape "(d0,...,d7)" */

typedef char text[TEXT_SIZE];

/* The state tensors of `config`, in file order (parameter, then slot): names
 * written into `names` and pointers into `tensors`. Returns their count. */
static int list_state(const tg_optimizer_config *config, int n, tg_tensor **state, text *names, tg_tensor **tensors) {
    const tg_optim_kind_record *record = tgi_optim_kind_record_of(config->kind);
    int count = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < TG_OPTIM_MAX_SLOTS; k++) {
            if (!tgi_optim_slot_used(config, k)) continue;
            snprintf(names[count], TEXT_SIZE, "param.%d.%s", i, record->slot_names[k]);
            tensors[count++] = tg_optim_slots(state, i)[k];
        }
    return count;
}

/* ---- saving ---- */

typedef struct metadata {
    int count;
    text *keys, *values;
} metadata;

/* Appends KEY_PREFIX key = printf(format, ...). */
static void add_meta(metadata *m, const char *key, const char *format, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void add_meta(metadata *m, const char *key, const char *format, ...) {
    snprintf(m->keys[m->count], TEXT_SIZE, "%s%s", KEY_PREFIX, key);
    va_list args;
    va_start(args, format);
    vsnprintf(m->values[m->count], TEXT_SIZE, format, args);
    va_end(args);
    m->count++;
}

/* 4 fixed entries, the double fields, centered; 3 per parameter. */
#define FIXED_META 4
#define COUNT_FIELD(name) +1
#define DOUBLE_FIELD_COUNT (0 TG_OPTIM_DOUBLE_FIELDS(COUNT_FIELD))

tg_status tg_optimizer_save(const tg_optimizer *opt, const char *path) {
    const char *function = "tg_optimizer_save";
    if (!opt || !path) return tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL", opt ? "path" : "optimizer");
    const tg_optimizer_config *c = &opt->config;
    /* Per parameter: shape, dtype, step and weight_decay. */
    int max_tensors = opt->n * TG_OPTIM_MAX_SLOTS, max_meta = FIXED_META + DOUBLE_FIELD_COUNT + 1 + 4 * opt->n;
    text *names = malloc((size_t)max_tensors * sizeof *names);
    tg_tensor **tensors = malloc((size_t)max_tensors * sizeof *tensors);
    metadata m = {0, malloc((size_t)max_meta * sizeof(text)), malloc((size_t)max_meta * sizeof(text))};
    const char **name_ptrs = malloc((size_t)(max_tensors + 2 * max_meta) * sizeof *name_ptrs);
    tg_status status = TG_OK;
    if (!names || !tensors || !m.keys || !m.values || !name_ptrs) {
        status = tg_error_report(TG_ERR_MEMORY, function, "cannot allocate the list of %d state tensors", max_tensors);
        goto done;
    }
    int count = list_state(c, opt->n, opt->state, names, tensors);

    add_meta(&m, "format", "%s", FORMAT_VERSION);
    add_meta(&m, "kind", "%s", tg_optimizer_kind_name(c->kind));
    add_meta(&m, "params", "%d", opt->n);
    add_meta(&m, "step", "%lld", (long long)opt->steps);
#define SAVE_FIELD(name) add_meta(&m, #name, "%.17g", c->name);
    TG_OPTIM_DOUBLE_FIELDS(SAVE_FIELD)
#undef SAVE_FIELD
    add_meta(&m, "centered", "%s", c->centered ? "true" : "false");
    for (int i = 0; i < opt->n; i++) {
        const tg_tensor *p = opt->params[i];
        char key[64], shape[TEXT_SIZE];
        snprintf(key, sizeof key, "param.%d.shape", i);
        add_meta(&m, key, "%s", tg_shape_string(shape, sizeof shape, p->rank, p->shape));
        snprintf(key, sizeof key, "param.%d.dtype", i);
        add_meta(&m, key, "%s", tg_dtype_name(p->dtype));
        snprintf(key, sizeof key, "param.%d.step", i);
        add_meta(&m, key, "%lld", (long long)opt->param_steps[i]);
        snprintf(key, sizeof key, "param.%d.weight_decay", i);
        add_meta(&m, key, "%.17g", opt->weight_decay[i]);
    }

    const char **key_ptrs = name_ptrs + max_tensors, **value_ptrs = key_ptrs + max_meta;
    for (int k = 0; k < count; k++) name_ptrs[k] = names[k];
    for (int k = 0; k < m.count; k++) {
        key_ptrs[k] = m.keys[k];
        value_ptrs[k] = m.values[k];
    }
    tg_error_nested_begin(); /* reported once, under tg_optimizer_save */
    status = tg_checkpoint_save(path, count, name_ptrs, (const tg_tensor *const *)tensors, m.count, key_ptrs,
                                value_ptrs);
    tg_error_nested_end();
    if (status != TG_OK) status = tg_error_take_over(function, "");
done:
    free(names);
    free(tensors);
    free(m.keys);
    free(m.values);
    free(name_ptrs);
    return status;
}

/* ---- loading ---- */

typedef struct reader {
    const char *function, *path;
    const tg_checkpoint *ck;
} reader;

/* The metadata value of KEY_PREFIX key, or NULL (reported) if missing. */
static const char *meta(const reader *r, const char *key) {
    char full[TEXT_SIZE];
    snprintf(full, sizeof full, "%s%s", KEY_PREFIX, key);
    const char *value = tg_checkpoint_metadata(r->ck, full);
    if (!value)
        tg_error_report(TG_ERR_FORMAT, r->function, "%s: metadata '%s' is missing (not an optimizer state file?)",
                        r->path, full);
    return value;
}

static tg_status read_double(const reader *r, const char *key, double *out) {
    const char *value = meta(r, key);
    if (!value) return TG_ERR_FORMAT;
    char *end;
    errno = 0;
    double x = strtod(value, &end);
    if (end == value || *end != '\0' || errno == ERANGE)
        return tg_error_report(TG_ERR_FORMAT, r->function, "%s: metadata '%s%s' is '%s', not a number", r->path,
                               KEY_PREFIX, key, value);
    *out = x;
    return TG_OK;
}

/* A whole number in [0, max]. */
static tg_status read_count(const reader *r, const char *key, int64_t max, int64_t *out) {
    const char *value = meta(r, key);
    if (!value) return TG_ERR_FORMAT;
    char *end;
    errno = 0;
    long long x = strtoll(value, &end, 10);
    if (end == value || *end != '\0' || errno == ERANGE || x < 0 || x > max)
        return tg_error_report(TG_ERR_FORMAT, r->function, "%s: metadata '%s%s' is '%s', not a count in [0, %lld]",
                               r->path, KEY_PREFIX, key, value, (long long)max);
    *out = x;
    return TG_OK;
}

/* The kind, hyperparameters and step counts of the file, checked against
 * `opt`. Nothing of `opt` changes. */
static tg_status read_header(const reader *r, const tg_optimizer *opt, tg_optimizer_config *config, int64_t *steps,
                             int64_t *param_steps, double *weight_decay) {
    const char *format = meta(r, "format");
    if (!format) return TG_ERR_FORMAT;
    if (strcmp(format, FORMAT_VERSION) != 0)
        return tg_error_report(TG_ERR_FORMAT, r->function, "%s: optimizer state format '%s', expected '%s'", r->path,
                               format, FORMAT_VERSION);
    const char *kind = meta(r, "kind");
    if (!kind) return TG_ERR_FORMAT;
    if (strcmp(kind, tg_optimizer_kind_name(opt->config.kind)) != 0)
        return tg_error_report(TG_ERR_ARGUMENT, r->function, "%s holds the state of a '%s' optimizer; this one is '%s'",
                               r->path, kind, tg_optimizer_kind_name(opt->config.kind));
    int64_t n;
    tg_status s = read_count(r, "params", INT32_MAX, &n);
    if (s != TG_OK) return s;
    if (n != opt->n)
        return tg_error_report(TG_ERR_ARGUMENT, r->function, "%s holds the state of %lld parameters; this optimizer has %d",
                               r->path, (long long)n, opt->n);
    /* Beyond the limit tg_optimizer_step keeps, a count would overflow in
     * the next steps (t + 1) and Adam's bias corrections would be NaN. */
    if ((s = read_count(r, "step", TG_OPTIM_MAX_STEPS, steps)) != TG_OK) return s;

    *config = opt->config;
#define READ_FIELD(name)                                                                                            \
    if ((s = read_double(r, #name, &config->name)) != TG_OK) return s;
    TG_OPTIM_DOUBLE_FIELDS(READ_FIELD)
#undef READ_FIELD
    const char *centered = meta(r, "centered");
    if (!centered) return TG_ERR_FORMAT;
    if (strcmp(centered, "true") != 0 && strcmp(centered, "false") != 0)
        return tg_error_report(TG_ERR_FORMAT, r->function, "%s: metadata '%scentered' is '%s', not true or false",
                               r->path, KEY_PREFIX, centered);
    config->centered = strcmp(centered, "true") == 0;
    if ((s = tgi_optim_check_config(r->function, config, true, TG_ERR_FORMAT)) != TG_OK) return s;

    for (int i = 0; i < opt->n; i++) {
        const tg_tensor *p = opt->params[i];
        char key[64], want[TEXT_SIZE];
        snprintf(key, sizeof key, "param.%d.shape", i);
        const char *shape = meta(r, key);
        if (!shape) return TG_ERR_FORMAT;
        if (strcmp(shape, tg_shape_string(want, sizeof want, p->rank, p->shape)) != 0)
            return tg_error_report(TG_ERR_SHAPE, r->function, "%s: parameter %d had shape %s; here it is %s", r->path,
                                   i, shape, want);
        snprintf(key, sizeof key, "param.%d.dtype", i);
        const char *dtype = meta(r, key);
        if (!dtype) return TG_ERR_FORMAT;
        if (strcmp(dtype, tg_dtype_name(p->dtype)) != 0)
            return tg_error_report(TG_ERR_DTYPE, r->function, "%s: parameter %d was %s; here it is %s", r->path, i,
                                   dtype, tg_dtype_name(p->dtype));
        snprintf(key, sizeof key, "param.%d.step", i);
        if ((s = read_count(r, key, *steps, &param_steps[i])) != TG_OK) return s;
        /* Files written before per-parameter weight decay hold the config's. */
        snprintf(key, sizeof key, "%sparam.%d.weight_decay", KEY_PREFIX, i);
        weight_decay[i] = config->weight_decay;
        if (tg_checkpoint_metadata(r->ck, key)) {
            if ((s = read_double(r, key + strlen(KEY_PREFIX), &weight_decay[i])) != TG_OK) return s;
            if (!isfinite(weight_decay[i]) || weight_decay[i] < 0)
                return tg_error_report(TG_ERR_FORMAT, r->function, "%s: metadata '%s' is %g; it must be finite and >= 0",
                                       r->path, key, weight_decay[i]);
        }
    }
    return TG_OK;
}

/* Whether slot `name` is a mean or sum of squares, which the update takes
 * the square root of: a negative value there would make the weights NaN. */
static bool slot_is_nonnegative(const char *name) {
    return strcmp(name, "exp_avg_sq") == 0 || strcmp(name, "square_avg") == 0 || strcmp(name, "sum") == 0;
}

/* Checks every element of the state tensors read from the file: finite, and
 * >= 0 in the slots of squares. The first bad element is reported by name. */
static tg_status check_state_values(const reader *r, int count, text *names, tg_tensor *const *tensors) {
    for (int k = 0; k < count; k++) {
        const tg_tensor *t = tensors[k];
        const char *slot = strrchr(names[k], '.') + 1; /* "param.<i>.<slot>" */
        bool nonnegative = slot_is_nonnegative(slot);
        for (int64_t e = 0; e < t->numel; e++) {
            double x = t->dtype == TG_F32 ? (double)((const float *)t->data)[e] : ((const double *)t->data)[e];
            if (isfinite(x) && (!nonnegative || x >= 0)) continue;
            return tg_error_report(TG_ERR_FORMAT, r->function,
                                   "%s: state tensor '%s' holds %g at element %lld; it must be finite%s", r->path,
                                   names[k], x, (long long)e, nonnegative ? " and >= 0 (a mean of squares)" : "");
        }
    }
    return TG_OK;
}

tg_status tg_optimizer_load(tg_optimizer *opt, const char *path) {
    const char *function = "tg_optimizer_load";
    if (!opt || !path) return tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL", opt ? "path" : "optimizer");
    tg_error_nested_begin(); /* the checkpoint calls' errors are reported under tg_optimizer_load */
    tg_checkpoint *ck = tg_checkpoint_open(path);
    tg_error_nested_end();
    if (!ck) return tg_error_take_over(function, "");

    int max_tensors = opt->n * TG_OPTIM_MAX_SLOTS;
    int64_t *param_steps = malloc((size_t)opt->n * sizeof *param_steps);
    double *weight_decay = malloc((size_t)opt->n * sizeof *weight_decay);
    tg_tensor **state = calloc((size_t)max_tensors, sizeof *state);
    text *names = malloc((size_t)max_tensors * sizeof *names);
    tg_tensor **tensors = malloc((size_t)max_tensors * sizeof *tensors);
    const char **name_ptrs = malloc((size_t)max_tensors * sizeof *name_ptrs);
    tg_status status = TG_OK;
    bool have_state = false;
    if (!param_steps || !weight_decay || !state || !names || !tensors || !name_ptrs) {
        status = tg_error_report(TG_ERR_MEMORY, function, "cannot allocate room for the state of %d parameters", opt->n);
        goto done;
    }
    reader r = {function, path, ck};
    tg_optimizer_config config;
    int64_t steps;
    if ((status = read_header(&r, opt, &config, &steps, param_steps, weight_decay)) != TG_OK) goto done;
    /* Fresh tensors laid out for the file's config (RMSprop's momentum or
     * centering may differ from opt's), filled from the file, then swapped in. */
    if ((status = tgi_optim_state_alloc(function, &config, opt->n, opt->params, state)) != TG_OK) goto done;
    have_state = true;
    int count = list_state(&config, opt->n, state, names, tensors);
    for (int k = 0; k < count; k++) name_ptrs[k] = names[k];
    tg_error_nested_begin();
    status = tg_checkpoint_read_into(ck, count, name_ptrs, tensors);
    tg_error_nested_end();
    if (status != TG_OK) {
        status = tg_error_take_over(function, "");
        goto done;
    }
    if ((status = check_state_values(&r, count, names, tensors)) != TG_OK) goto done;

    tg_tensor **old = opt->state;
    opt->state = state;
    state = old;
    opt->config = config;
    opt->steps = steps;
    memcpy(opt->param_steps, param_steps, (size_t)opt->n * sizeof *param_steps);
    memcpy(opt->weight_decay, weight_decay, (size_t)opt->n * sizeof *weight_decay);
done:
    if (have_state) tgi_optim_state_free(opt->n, state); /* the old state on success, the new one on failure */
    free(state);
    free(param_steps);
    free(weight_decay);
    free(names);
    free(tensors);
    free(name_ptrs);
    tg_checkpoint_close(ck);
    return status;
}
