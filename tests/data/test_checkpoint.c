/* Tests of safetensors checkpoints (io/safetensors.c). Damaged files are
 * made by writing a good file and then changing bytes in it, or by writing a
 * header by hand. */
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <time.h>

#include "helpers.h"
#include "tapegrad/checkpoint.h"

/* Three tensors covering the awkward cases: float32 with special values,
 * a float64 scalar (rank 0) and an empty float64 tensor. */
typedef struct fixture {
    char dir[64], path[128];
    tg_tensor *weights, *scalar, *empty;
} fixture;

static void fixture_make(fixture *f)
{
    make_temp_dir(f->dir, sizeof f->dir);
    snprintf(f->path, sizeof f->path, "%s/model.safetensors", f->dir);
    const float values[6] = {1.5f, -0.0f, 1e-45f /* denormal */, INFINITY, 3.4028235e38f, -2.25f};
    f->weights = tg_from_array(TG_F32, 2, (const int64_t[]){2, 3}, values);
    const double pi = 3.141592653589793;
    f->scalar = tg_from_array(TG_F64, 0, NULL, &pi);
    f->empty = tg_zeros(TG_F64, 2, (const int64_t[]){0, 4});
    cr_assert(f->weights && f->scalar && f->empty);
}

static tg_status fixture_save(fixture *f)
{
    const char *names[3] = {"layer.weight", "scale", "nothing"};
    const tg_tensor *tensors[3] = {f->weights, f->scalar, f->empty};
    const char *keys[2] = {"epoch", "note"};
    const char *values[2] = {"12", "quote \" and\nnewline"};
    return tg_checkpoint_save(f->path, 3, names, tensors, 2, keys, values);
}

static void fixture_free(fixture *f)
{
    tg_free(f->weights);
    tg_free(f->scalar);
    tg_free(f->empty);
    remove_temp_dir(f->dir);
}

/* Loads the fixture's three tensors into fresh zeroed tensors. */
static tg_status load_fixture_into_zeros(const char *path, tg_tensor **w, tg_tensor **s, tg_tensor **e)
{
    *w = tg_zeros(TG_F32, 2, (const int64_t[]){2, 3});
    *s = tg_zeros(TG_F64, 0, NULL);
    *e = tg_zeros(TG_F64, 2, (const int64_t[]){0, 4});
    const char *names[3] = {"layer.weight", "scale", "nothing"};
    tg_tensor *tensors[3] = {*w, *s, *e};
    return tg_checkpoint_load_into(path, 3, names, tensors);
}

Test(checkpoint, round_trips_bit_exactly, .init = return_mode)
{
    fixture f;
    fixture_make(&f);
    cr_assert_eq(fixture_save(&f), TG_OK, "%s", tg_last_error_message());
    tg_tensor *w, *s, *e;
    cr_assert_eq(load_fixture_into_zeros(f.path, &w, &s, &e), TG_OK, "%s", tg_last_error_message());
    cr_assert_eq(memcmp(w->data, f.weights->data, 6 * sizeof(float)), 0);
    cr_assert_eq(memcmp(s->data, f.scalar->data, sizeof(double)), 0);
    tg_free(w);
    tg_free(s);
    tg_free(e);

    /* The data starts 8-byte aligned, so numpy can map it directly. */
    size_t size = 0;
    unsigned char *raw = slurp(f.path, &size);
    uint64_t header = 0;
    for (int b = 0; b < 8; ++b) header |= (uint64_t)raw[b] << (8 * b);
    cr_assert_eq((8 + header) % 8, 0);
    cr_assert_eq(size, 8 + header + 6 * 4 + 8);
    free(raw);
    fixture_free(&f);
}

Test(checkpoint, lists_entries_and_metadata, .init = return_mode)
{
    fixture f;
    fixture_make(&f);
    cr_assert_eq(fixture_save(&f), TG_OK);
    tg_checkpoint *ck = tg_checkpoint_open(f.path);
    cr_assert_not_null(ck, "%s", tg_last_error_message());
    cr_assert_eq(tg_checkpoint_count(ck), 3);
    const tg_checkpoint_entry *e = tg_checkpoint_find(ck, "layer.weight");
    cr_assert_not_null(e);
    cr_assert_str_eq(e->dtype, "F32");
    cr_assert_eq(e->rank, 2);
    cr_assert_eq(e->shape[1], 3);
    cr_assert_eq(e->end - e->begin, 24);
    cr_assert_eq(tg_checkpoint_find(ck, "scale")->rank, 0);
    cr_assert_null(tg_checkpoint_find(ck, "missing"));
    cr_assert_str_eq(tg_checkpoint_metadata(ck, "epoch"), "12");
    cr_assert_str_eq(tg_checkpoint_metadata(ck, "note"), "quote \" and\nnewline");
    cr_assert_not_null(strstr(tg_checkpoint_metadata(ck, TG_CHECKPOINT_CHECKSUM_KEY), "fnv1a64-file:"));
    tg_tensor *scalar = tg_checkpoint_read_tensor(ck, "scale");
    cr_assert_not_null(scalar);
    cr_assert_eq(scalar->dtype, TG_F64);
    cr_assert_eq(((double *)scalar->data)[0], 3.141592653589793);
    tg_free(scalar);
    tg_checkpoint_close(ck);
    fixture_free(&f);
}

/* Expects loading `path` to fail with `code` and a message naming the file,
 * the function, and containing `what`. */
static void expect_load_error(const char *path, tg_status code, const char *what)
{
    tg_tensor *w, *s, *e;
    tg_clear_error();
    cr_assert_eq(load_fixture_into_zeros(path, &w, &s, &e), code, "got %d: %s", tg_last_error(),
                 tg_last_error_message());
    assert_error_from("tg_checkpoint_load_into");
    cr_assert_not_null(strstr(tg_last_error_message(), path), "'%s' does not name the file",
                       tg_last_error_message());
    cr_assert_not_null(strstr(tg_last_error_message(), what), "'%s' lacks '%s'", tg_last_error_message(), what);
    /* All or nothing: the destination is still zero. */
    for (int i = 0; i < 6; ++i) cr_assert_eq(((float *)w->data)[i], 0.0f);
    tg_free(w);
    tg_free(s);
    tg_free(e);
}

Test(checkpoint, refuses_truncated_files, .init = return_mode)
{
    fixture f;
    fixture_make(&f);
    cr_assert_eq(fixture_save(&f), TG_OK);
    size_t size = 0;
    unsigned char *raw = slurp(f.path, &size);
    write_bytes(f.path, raw, size - 1);
    expect_load_error(f.path, TG_ERR_FORMAT, "truncated");
    write_bytes(f.path, raw, 100);
    expect_load_error(f.path, TG_ERR_FORMAT, "truncated");
    write_bytes(f.path, raw, 5);
    expect_load_error(f.path, TG_ERR_FORMAT, "truncated");
    free(raw);
    fixture_free(&f);
}

Test(checkpoint, refuses_a_bit_flip_in_the_data, .init = return_mode)
{
    fixture f;
    fixture_make(&f);
    cr_assert_eq(fixture_save(&f), TG_OK);
    size_t size = 0;
    unsigned char *raw = slurp(f.path, &size);
    raw[size - 3] ^= 0x10; /* inside the float64 scalar */
    write_bytes(f.path, raw, size);
    expect_load_error(f.path, TG_ERR_FORMAT, "checksum mismatch");
    free(raw);
    fixture_free(&f);
}

Test(checkpoint, refuses_or_survives_every_header_byte_change, .init = return_mode)
{
    /* Changing any header byte must give a clean error or (in padding, or in
     * metadata text) a successful load; never a crash or a wrong tensor. */
    fixture f;
    fixture_make(&f);
    cr_assert_eq(fixture_save(&f), TG_OK);
    size_t size = 0;
    unsigned char *raw = slurp(f.path, &size);
    size_t header_end = size - 32;
    for (size_t i = 0; i < header_end; ++i) {
        unsigned char saved = raw[i];
        raw[i] = (unsigned char)(saved ^ 0x21);
        write_bytes(f.path, raw, size);
        tg_tensor *w, *s, *e;
        if (load_fixture_into_zeros(f.path, &w, &s, &e) == TG_OK)
            cr_assert_eq(memcmp(w->data, f.weights->data, 24), 0, "byte %zu", i);
        tg_free(w);
        tg_free(s);
        tg_free(e);
        raw[i] = saved;
    }
    free(raw);
    fixture_free(&f);
}

/* Writes a file made of a hand-written header and `data_size` zero bytes. */
static void write_handmade(const char *path, const char *json, size_t data_size)
{
    size_t n = strlen(json);
    unsigned char *raw = calloc(8 + n + data_size + 1, 1);
    for (int b = 0; b < 8; ++b) raw[b] = (unsigned char)((uint64_t)n >> (8 * b));
    memcpy(raw + 8, json, n);
    write_bytes(path, raw, 8 + n + data_size);
    free(raw);
}

Test(checkpoint, refuses_inconsistent_headers, .init = return_mode)
{
    fixture f;
    fixture_make(&f);
    const char *scalar_and_empty =
        "\"scale\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[24,32]},"
        "\"nothing\":{\"dtype\":\"F64\",\"shape\":[0,4],\"data_offsets\":[32,32]}}";
    char json[1024];

    snprintf(json, sizeof json, "{\"layer.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},%s",
             scalar_and_empty);
    write_handmade(f.path, json, 32);
    tg_tensor *w, *s, *e;
    cr_assert_eq(load_fixture_into_zeros(f.path, &w, &s, &e), TG_OK, "a valid file without checksum: %s",
                 tg_last_error_message());
    tg_free(w);
    tg_free(s);
    tg_free(e);

    snprintf(json, sizeof json, "{\"layer.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]},%s",
             scalar_and_empty);
    write_handmade(f.path, json, 32);
    expect_load_error(f.path, TG_ERR_FORMAT, "do not hold its shape");

    write_handmade(f.path,
                   "{\"layer.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                   "\"scale\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[16,24]},"
                   "\"nothing\":{\"dtype\":\"F64\",\"shape\":[0,4],\"data_offsets\":[24,24]}}",
                   24);
    expect_load_error(f.path, TG_ERR_FORMAT, "overlapping");

    snprintf(json, sizeof json, "{\"layer.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[4,28]},%s",
             scalar_and_empty);
    write_handmade(f.path, json, 32);
    expect_load_error(f.path, TG_ERR_FORMAT, "a gap");

    snprintf(json, sizeof json, "{\"layer.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},%s",
             scalar_and_empty);
    write_handmade(f.path, json, 40);
    expect_load_error(f.path, TG_ERR_FORMAT, "trailing bytes");

    snprintf(json, sizeof json, "{\"scale\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},%s",
             scalar_and_empty);
    write_handmade(f.path, json, 32);
    expect_load_error(f.path, TG_ERR_FORMAT, "duplicate tensor name");

    write_handmade(f.path, "{\"layer.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]", 24);
    expect_load_error(f.path, TG_ERR_FORMAT, "bad header JSON");

    write_handmade(f.path, "[1, 2]", 0);
    expect_load_error(f.path, TG_ERR_FORMAT, "not a JSON object");

    snprintf(json, sizeof json, "{\"layer.weight\":{\"dtype\":\"Q7\",\"shape\":[2,3],\"data_offsets\":[0,24]},%s",
             scalar_and_empty);
    write_handmade(f.path, json, 32);
    expect_load_error(f.path, TG_ERR_FORMAT, "unknown dtype");
    fixture_free(&f);
}

Test(checkpoint, refuses_absurd_header_lengths, .init = return_mode)
{
    fixture f;
    fixture_make(&f);
    unsigned char raw[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
    write_bytes(f.path, raw, sizeof raw);
    expect_load_error(f.path, TG_ERR_FORMAT, "absurd");
    raw[0] = 200; /* 200 bytes of header in a 16-byte file */
    for (int b = 1; b < 8; ++b) raw[b] = 0;
    write_bytes(f.path, raw, sizeof raw);
    expect_load_error(f.path, TG_ERR_FORMAT, "exceeds");
    fixture_free(&f);
}

Test(checkpoint, refuses_mismatched_destinations, .init = return_mode)
{
    fixture f;
    fixture_make(&f);
    cr_assert_eq(fixture_save(&f), TG_OK);
    tg_tensor *good = tg_zeros(TG_F32, 2, (const int64_t[]){2, 3});
    tg_tensor *transposed = tg_zeros(TG_F32, 2, (const int64_t[]){3, 2});
    tg_tensor *wider = tg_zeros(TG_F64, 2, (const int64_t[]){2, 3});
    const char *names[2] = {"layer.weight", "layer.bias"};

    tg_tensor *missing[2] = {good, good};
    cr_assert_eq(tg_checkpoint_load_into(f.path, 2, names, missing), TG_ERR_ARGUMENT);
    cr_assert_not_null(strstr(tg_last_error_message(), "no tensor named 'layer.bias'"));
    cr_assert_eq(((float *)good->data)[0], 0.0f, "nothing written before the error");

    cr_assert_eq(tg_checkpoint_load_into(f.path, 1, names, &transposed), TG_ERR_SHAPE);
    cr_assert_not_null(strstr(tg_last_error_message(), "(2,3) in the file, destination has (3,2)"), "%s",
                       tg_last_error_message());
    /* Another dtype converts (test_checkpoint_dtypes.c has the rule). */
    cr_assert_eq(tg_checkpoint_load_into(f.path, 1, names, &wider), TG_OK);
    cr_assert_eq(((double *)wider->data)[5], -2.25);
    cr_assert_eq(tg_checkpoint_load_into(f.path, 1, names, &good), TG_OK);
    cr_assert_eq(((float *)good->data)[0], 1.5f);
    tg_free(good);
    tg_free(transposed);
    tg_free(wider);
    fixture_free(&f);
}

Test(checkpoint, refuses_bad_save_arguments, .init = return_mode)
{
    fixture f;
    fixture_make(&f);
    const char *names[2] = {"a", "a"};
    const tg_tensor *tensors[2] = {f.weights, f.scalar};
    cr_assert_eq(tg_checkpoint_save(f.path, 2, names, tensors, 0, NULL, NULL), TG_ERR_ARGUMENT);
    assert_error_from("tg_checkpoint_save");
    cr_assert_not_null(strstr(tg_last_error_message(), "duplicate"));
    const char *reserved[1] = {TG_CHECKPOINT_CHECKSUM_KEY};
    const char *value[1] = {"x"};
    cr_assert_eq(tg_checkpoint_save(f.path, 1, names, tensors, 1, reserved, value), TG_ERR_ARGUMENT);
    FILE *file = fopen(f.path, "rb");
    cr_assert_null(file, "nothing written on refusal");
    fixture_free(&f);
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(d)))
        if (entry->d_name[0] != '.') count++;
    closedir(d);
    return count;
}

Test(checkpoint, failed_save_keeps_the_previous_file, .init = return_mode)
{
    fixture f;
    fixture_make(&f);
    cr_assert_eq(fixture_save(&f), TG_OK);
    size_t old_size = 0;
    unsigned char *old = slurp(f.path, &old_size);

    /* A write that fails midway: the process may not write files above 4 KiB
     * (works even as root, unlike a read-only directory). */
    tg_tensor *big = tg_zeros(TG_F64, 1, (const int64_t[]){100000});
    const char *name[1] = {"big"};
    const tg_tensor *tensors[1] = {big};
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = {4096, 4096};
    struct rlimit saved;
    getrlimit(RLIMIT_FSIZE, &saved);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &limit), 0);
    tg_status status = tg_checkpoint_save(f.path, 1, name, tensors, 0, NULL, NULL);
    setrlimit(RLIMIT_FSIZE, &saved);
    cr_assert_eq(status, TG_ERR_IO);
    assert_error_from("tg_checkpoint_save");
    cr_assert_not_null(strstr(tg_last_error_message(), "left unchanged"));

    size_t new_size = 0;
    unsigned char *now = slurp(f.path, &new_size);
    cr_assert_eq(new_size, old_size);
    cr_assert_eq(memcmp(now, old, old_size), 0, "the previous checkpoint is intact");
    cr_assert_eq(count_files(f.dir), 1, "the temporary file was removed");
    free(now);
    free(old);
    tg_free(big);
    fixture_free(&f);
}

Test(checkpoint, unwritable_directory_keeps_the_previous_file, .init = return_mode)
{
    if (geteuid() == 0) cr_skip_test("running as root: directory permissions are not enforced");
    fixture f;
    fixture_make(&f);
    cr_assert_eq(fixture_save(&f), TG_OK);
    char command[200];
    snprintf(command, sizeof command, "chmod a-w '%s'", f.dir);
    cr_assert_eq(system(command), 0);
    tg_status status = fixture_save(&f);
    snprintf(command, sizeof command, "chmod u+w '%s'", f.dir);
    cr_assert_eq(system(command), 0);
    cr_assert_eq(status, TG_ERR_IO);
    tg_tensor *w, *s, *e;
    cr_assert_eq(load_fixture_into_zeros(f.path, &w, &s, &e), TG_OK);
    tg_free(w);
    tg_free(s);
    tg_free(e);
    fixture_free(&f);
}

/* Runs a Python script (written to the fixture's directory) on the
 * checkpoint; returns the exit status of the shell. */
static int run_python(const fixture *f, const char *script)
{
    char script_path[160], command[400];
    snprintf(script_path, sizeof script_path, "%s/check.py", f->dir);
    write_text(script_path, script);
    snprintf(command, sizeof command, "/usr/bin/python3 '%s' '%s'", script_path, f->path);
    return system(command);
}

static const char read_header_py[] =
    "import json, struct, sys\n"
    "f = open(sys.argv[1], 'rb')\n"
    "n = int.from_bytes(f.read(8), 'little')\n"
    "h = json.loads(f.read(n))\n"
    "b = f.read()\n"
    "def raw(name):\n"
    "    begin, end = h[name]['data_offsets']\n"
    "    return b[begin:end]\n";

/* Suite checkpoint_numpy: run with the PyTorch tests (tests/meson.build). */
Test(checkpoint_numpy, numpy_reads_the_file, .init = return_mode)
{
    if (!have_program("/usr/bin/python3 -c 'import numpy' > /dev/null 2>&1"))
        cr_skip_test("/usr/bin/python3 with numpy is not available");
    fixture f;
    fixture_make(&f);
    cr_assert_eq(fixture_save(&f), TG_OK);
    char script[2000];
    snprintf(script, sizeof script,
             "%s"
             "import numpy as np\n"
             "a = np.frombuffer(raw('layer.weight'), '<f4').reshape(h['layer.weight']['shape'])\n"
             "assert a.shape == (2, 3) and a[0, 0] == 1.5 and a[1, 2] == -2.25, a\n"
             "v = np.frombuffer(raw('scale'), '<f8').reshape(h['scale']['shape'])\n"
             "assert v.shape == () and v == 3.141592653589793, v\n"
             "assert h['nothing']['shape'] == [0, 4] and raw('nothing') == b''\n",
             read_header_py);
    cr_assert_eq(run_python(&f, script), 0, "numpy could not read the checkpoint");
    fixture_free(&f);
}

/* Without numpy, Python's standard library can still check the layout. */
Test(checkpoint, python_json_and_struct_read_the_file, .init = return_mode)
{
    if (!have_program("/usr/bin/python3 -c 'import json, struct' > /dev/null 2>&1"))
        cr_skip_test("/usr/bin/python3 is not available");
    fixture f;
    fixture_make(&f);
    cr_assert_eq(fixture_save(&f), TG_OK);
    char script[2000];
    snprintf(script, sizeof script,
             "%s"
             "w = struct.unpack('<6f', raw('layer.weight'))\n"
             "assert h['layer.weight']['dtype'] == 'F32' and h['layer.weight']['shape'] == [2, 3]\n"
             "assert w[0] == 1.5 and w[5] == -2.25 and w[3] == float('inf'), w\n"
             "assert h['scale']['shape'] == [] and struct.unpack('<d', raw('scale'))[0] == 3.141592653589793\n"
             "assert h['nothing']['shape'] == [0, 4] and raw('nothing') == b''\n"
             "assert h['__metadata__']['note'] == 'quote \" and\\nnewline', h['__metadata__']\n"
             "assert h['__metadata__']['epoch'] == '12'\n",
             read_header_py);
    cr_assert_eq(run_python(&f, script), 0, "Python could not read the checkpoint");
    fixture_free(&f);
}

/* A header of `n` empty F32 tensors "t0".."t<n-1>", then `extra` (or nothing). */
static char *many_entries_json(int n, const char *extra)
{
    size_t capacity = (size_t)n * 64 + 256, at = 0;
    char *json = malloc(capacity);
    cr_assert_not_null(json);
    json[at++] = '{';
    for (int i = 0; i < n; ++i)
        at += (size_t)snprintf(json + at, capacity - at, "%s\"t%d\":{\"dtype\":\"F32\",\"shape\":[0],"
                               "\"data_offsets\":[0,0]}", i ? "," : "", i);
    snprintf(json + at, capacity - at, "%s}", extra);
    return json;
}

static double seconds_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

Test(checkpoint, checks_100000_names_for_duplicates_in_n_log_n, .init = return_mode)
{
    /* Comparing each name with all earlier ones costs 5e9 string compares
     * here (43 s measured with the quadratic check); sorting the names costs
     * about 2e6. The limit is loose enough for a sanitized or loaded machine. */
    enum { N = 100000 };
    fixture f;
    fixture_make(&f);
    char *json = many_entries_json(N, "");
    write_handmade(f.path, json, 0);
    free(json);
    double start = seconds_now();
    tg_checkpoint *ck = tg_checkpoint_open(f.path);
    double took = seconds_now() - start;
    cr_assert_not_null(ck, "%s", tg_last_error_message());
    cr_assert_eq(tg_checkpoint_count(ck), N);
    cr_assert_not_null(tg_checkpoint_find(ck, "t99999"));
    tg_checkpoint_close(ck);
    cr_assert_lt(took, 5.0, "opening %d entries took %.2f s", N, took);

    /* The last name repeats the first: found although they are far apart. */
    json = many_entries_json(N, ",\"t0\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}");
    write_handmade(f.path, json, 0);
    free(json);
    cr_assert_null(tg_checkpoint_open(f.path));
    assert_error(TG_ERR_FORMAT, "tg_checkpoint_open", "duplicate tensor name 't0'");
    fixture_free(&f);
}

Test(checkpoint, checks_100000_metadata_keys_for_duplicates_in_n_log_n, .init = return_mode)
{
    /* As for tensor names: the keys are sorted, not compared pairwise. */
    enum { N = 100000 };
    fixture f;
    fixture_make(&f);
    size_t capacity = (size_t)N * 32 + 256, at = 0;
    char *json = malloc(capacity);
    cr_assert_not_null(json);
    at += (size_t)snprintf(json, capacity, "{\"__metadata__\":{");
    for (int i = 0; i < N; ++i)
        at += (size_t)snprintf(json + at, capacity - at, "%s\"k%d\":\"v\"", i ? "," : "", i);
    snprintf(json + at, capacity - at, "}}");
    write_handmade(f.path, json, 0);
    double start = seconds_now();
    tg_checkpoint *ck = tg_checkpoint_open(f.path);
    double took = seconds_now() - start;
    cr_assert_not_null(ck, "%s", tg_last_error_message());
    cr_assert_str_eq(tg_checkpoint_metadata(ck, "k99999"), "v");
    tg_checkpoint_close(ck);
    cr_assert_lt(took, 5.0, "opening %d metadata keys took %.2f s", N, took);

    snprintf(json + at, capacity - at, ",\"k0\":\"again\"}}");
    write_handmade(f.path, json, 0);
    free(json);
    cr_assert_null(tg_checkpoint_open(f.path));
    assert_error(TG_ERR_FORMAT, "tg_checkpoint_open", "duplicate metadata key 'k0'");
    fixture_free(&f);
}

/* ---- the writer refuses what the reader refuses (issue 21, item 5) ---- */

/* Saves the fixture, then expects `status` from a save of the arguments
 * given, with `what` in the message, and the first file byte for byte intact
 * with no temporary file left beside it. */
static void expect_save_refused_keeping_the_file(fixture *f, int n, const char *const *names,
                                                 const tg_tensor *const *tensors, int n_meta, const char *const *keys,
                                                 const char *const *values, tg_status status, const char *what)
{
    cr_assert_eq(fixture_save(f), TG_OK);
    size_t old_size = 0;
    unsigned char *old = slurp(f->path, &old_size);
    tg_clear_error();
    cr_assert_eq(tg_checkpoint_save(f->path, n, names, tensors, n_meta, keys, values), status, "got %s: %s",
                 tg_status_name(tg_last_error()), tg_last_error_message());
    assert_error_from("tg_checkpoint_save");
    cr_assert_not_null(strstr(tg_last_error_message(), what), "'%s' lacks '%s'", tg_last_error_message(), what);
    size_t new_size = 0;
    unsigned char *now = slurp(f->path, &new_size);
    cr_assert_eq(new_size, old_size);
    cr_assert_eq(memcmp(now, old, old_size), 0, "the previous checkpoint is intact");
    cr_assert_eq(count_files(f->dir), 1, "no temporary file left");
    free(now);
    free(old);
}

Test(checkpoint, refuses_to_save_metadata_over_the_header_limit, .init = return_mode)
{
    /* One metadata value one byte over the reader's 100 MiB header limit:
     * the save used to return TG_OK and replace the good file with one that
     * tg_checkpoint_open refuses as "absurd". */
    fixture f;
    fixture_make(&f);
    size_t size = (size_t)TG_CHECKPOINT_HEADER_LIMIT + 1;
    char *huge = malloc(size + 1);
    cr_assert_not_null(huge);
    memset(huge, 'x', size);
    huge[size] = '\0';
    const char *keys[1] = {"notes"};
    const char *values[1] = {huge};
    const char *names[1] = {"layer.weight"};
    const tg_tensor *tensors[1] = {f.weights};
    expect_save_refused_keeping_the_file(&f, 1, names, tensors, 1, keys, values, TG_ERR_ARGUMENT, "104857600");
    cr_assert_not_null(strstr(tg_last_error_message(), "left unchanged"), "%s", tg_last_error_message());

    /* 1 KiB under the limit, the whole header still fits: saved and read back. */
    huge[size - 1 - 1024 - 1] = '\0';
    cr_assert_eq(tg_checkpoint_save(f.path, 1, names, tensors, 1, keys, values), TG_OK, "%s",
                 tg_last_error_message());
    tg_checkpoint *ck = tg_checkpoint_open(f.path);
    cr_assert_not_null(ck, "%s", tg_last_error_message());
    cr_assert_eq(strlen(tg_checkpoint_metadata(ck, "notes")), size - 1 - 1024 - 1);
    tg_checkpoint_close(ck);
    free(huge);
    fixture_free(&f);
}

Test(checkpoint, refuses_to_save_a_shape_the_reader_refuses, .init = return_mode)
{
    /* The reader refuses (0, 2^62, 2^62) (strides overflow, item 11 of issue
     * 21); a tensor whose shape was changed by hand is refused by the writer. */
    fixture f;
    fixture_make(&f);
    tg_tensor *forged = tg_zeros(TG_F32, 1, (const int64_t[]){0});
    forged->rank = 3;
    forged->shape[1] = forged->shape[2] = (int64_t)1 << 62;
    const char *names[1] = {"forged"};
    const tg_tensor *tensors[1] = {forged};
    expect_save_refused_keeping_the_file(&f, 1, names, tensors, 0, NULL, NULL, TG_ERR_SHAPE,
                                         "(0,4611686018427387904,4611686018427387904)");
    forged->rank = 1;
    tg_free(forged);
    fixture_free(&f);
}

/* ---- shapes whose strides overflow (issue 21, item 11) ---- */

Test(checkpoint, refuses_a_header_shape_whose_strides_overflow, .init = return_mode)
{
    /* No element, so 0 bytes of data match the shape; but the strides of a
     * tensor of this shape (2^62 * 2^62) overflow int64_t. */
    fixture f;
    fixture_make(&f);
    write_handmade(f.path,
                   "{\"x\":{\"dtype\":\"F32\",\"shape\":[0,4611686018427387904,4611686018427387904],"
                   "\"data_offsets\":[0,0]}}",
                   0);
    cr_assert_null(tg_checkpoint_open(f.path));
    assert_error(TG_ERR_FORMAT, "tg_checkpoint_open", "(0,4611686018427387904,4611686018427387904)");
    /* The sizes in the other order, refused the same way. */
    write_handmade(f.path,
                   "{\"x\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904,4611686018427387904,0],"
                   "\"data_offsets\":[0,0]}}",
                   0);
    cr_assert_null(tg_checkpoint_open(f.path));
    assert_error(TG_ERR_FORMAT, "tg_checkpoint_open", "(4611686018427387904,4611686018427387904,0)");
    fixture_free(&f);
}
