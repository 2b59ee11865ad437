/* tests/nn/test_torch_checkpoint.c — checkpoints moving between tapegrad and
 * a real PyTorch model, both ways: a state_dict of nn.Sequential(Linear,
 * Tanh, Linear, Tanh, Linear) written as safetensors by Python (json, struct
 * and numpy only: the safetensors package is not needed) loads into
 * tg_mlp_new's model of the same sizes and gives PyTorch's outputs; a
 * tg_model_save file loads into the same nn.Sequential with
 * load_state_dict(strict=True) and gives tapegrad's outputs. The sizes
 * 3-4-4-2 hold a non-square layer (refused with the wrong layout) and a
 * square one (loaded transposed without a word with the wrong layout).
 * Skipped, with the reason, when Debian's python3 with torch and numpy is not
 * installed (apt-get install python3-torch). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/test_helpers.h"

#define PYTHON "/usr/bin/python3"
#define BATCH 5
#define N_IN 3
#define N_OUT 2

static bool have_torch(void) {
    if (access(PYTHON, X_OK) != 0) return false;
    return system(PYTHON " -c 'import torch, numpy' >/dev/null 2>&1") == 0;
}

#define SKIP_WITHOUT_TORCH()                                                                                        \
    if (!have_torch())                                                                                              \
    cr_skip_test("PyTorch not available (" PYTHON " -c 'import torch, numpy' failed); apt-get install python3-torch")

/* The same model definition and input on both sides. The input's values,
 * (i % 7 - 3) / 4, are exact in float32. */
static const char *python_model =
    "import json, struct, sys\n"
    "import numpy as np\n"
    "import torch\n"
    "torch.manual_seed(1234)\n"
    "model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 4),\n"
    "                            torch.nn.Tanh(), torch.nn.Linear(4, 2))\n"
    "x = torch.tensor([(i % 7 - 3) / 4 for i in range(15)], dtype=torch.float32).reshape(5, 3)\n"
    "def print_outputs():\n"
    "    with torch.no_grad():\n"
    "        print(' '.join(repr(v) for v in model(x).flatten().tolist()))\n";

static tg_tensor *the_input(void) {
    double x[BATCH * N_IN];
    for (int i = 0; i < BATCH * N_IN; i++) x[i] = (i % 7 - 3) / 4.0;
    return tg_from_doubles(TG_F32, 2, (int64_t[]){BATCH, N_IN}, x);
}

/* Runs `body` after python_model with the checkpoint's path as sys.argv[1];
 * the script's stdout (and stderr, for the failure message) goes to `out`. */
static void run_python(const char *body, const char *checkpoint, char *out, size_t out_size) {
    char script[] = "/tmp/tg_torch_ckpt_XXXXXX";
    int fd = mkstemp(script);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "%s%s", python_model, body);
    fclose(f);
    char command[512];
    snprintf(command, sizeof command, PYTHON " %s '%s' 2>&1", script, checkpoint);
    FILE *p = popen(command, "r");
    cr_assert_not_null(p);
    size_t got = fread(out, 1, out_size - 1, p);
    out[got] = '\0';
    int status = pclose(p);
    unlink(script);
    cr_assert_eq(status, 0, "python failed:\n%s", out);
}

/* PyTorch's outputs (printed as Python floats) against tapegrad's, float32
 * on both sides: only the order of additions may differ. */
static void assert_outputs_agree(const char *printed, const tg_tensor *y) {
    cr_assert(y && y->rank == 2 && y->shape[0] == BATCH && y->shape[1] == N_OUT);
    const char *at = printed;
    for (int k = 0; k < BATCH * N_OUT; k++) {
        char *end;
        double want = strtod(at, &end);
        cr_assert(end != at, "torch printed too few values: %s", printed);
        at = end;
        double got = tg_get_flat(y, k);
        cr_assert(fabs(got - want) <= 1e-6 * fmax(1, fabs(want)), "y[%d]: tapegrad %.9g, torch %.9g", k, got, want);
    }
}

static tg_model *tapegrad_model(uint64_t seed) {
    tg_rng rng = tg_rng_seeded(seed);
    return tg_mlp_new(&rng, TG_F32, 4, (const int64_t[]){N_IN, 4, 4, N_OUT}, TG_ACT_TANH, -1);
}

Test(torch_checkpoint, a_pytorch_state_dict_loads_and_gives_pytorchs_outputs, .init = return_mode) {
    SKIP_WITHOUT_TORCH();
    char dir[64], path[128], printed[4096];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/torch.safetensors", dir);
    /* The safetensors layout written by hand: 8-byte header length, JSON,
     * then each tensor's little-endian bytes in order. */
    run_python("header, blobs, at = {'__metadata__': {'format': 'pt'}}, [], 0\n"
               "for name, t in model.state_dict().items():\n"
               "    b = t.detach().numpy().astype('<f4').tobytes()\n"
               "    header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [at, at + len(b)]}\n"
               "    blobs.append(b); at += len(b)\n"
               "h = json.dumps(header).encode()\n"
               "h += b' ' * (-len(h) % 8)\n"
               "with open(sys.argv[1], 'wb') as f:\n"
               "    f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))\n"
               "print_outputs()\n",
               path, printed, sizeof printed);
    tg_model *model = tapegrad_model(1);
    cr_assert_eq(tg_model_load(model, path), TG_OK, "%s", tg_last_error_message());
    tg_tensor *x = the_input();
    tg_tensor *y = tg_model_forward(model, x);
    assert_outputs_agree(printed, y);
    tg_free(x);
    tg_model_free(model);
    reset_tape();
    remove_temp_dir(dir);
}

Test(torch_checkpoint, a_tapegrad_checkpoint_loads_into_nn_sequential_and_gives_tapegrads_outputs,
     .init = return_mode) {
    SKIP_WITHOUT_TORCH();
    char dir[64], path[128], printed[4096];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/tapegrad.safetensors", dir);
    tg_model *model = tapegrad_model(2);
    tg_rng rng = tg_rng_seeded(3); /* non-zero biases, so that a bias mix-up shows */
    for (int p = 1; p < 6; p += 2) tg_init_tensor(tg_model_param(model, p, NULL, 0), TG_INIT_HE_NORMAL, &rng, 3, 3, 0);
    cr_assert_eq(tg_model_save(model, path), TG_OK, "%s", tg_last_error_message());
    run_python("with open(sys.argv[1], 'rb') as f:\n"
               "    n = struct.unpack('<Q', f.read(8))[0]\n"
               "    header = json.loads(f.read(n))\n"
               "    data = f.read()\n"
               "header.pop('__metadata__', None)\n"
               "state = {name: torch.from_numpy(np.frombuffer(data[e['data_offsets'][0]:e['data_offsets'][1]],\n"
               "                                              dtype='<f4').reshape(e['shape']).copy())\n"
               "         for name, e in header.items() if e['dtype'] == 'F32'}\n"
               "assert len(state) == len(header), header\n"
               "model.load_state_dict(state, strict=True)\n"
               "print_outputs()\n",
               path, printed, sizeof printed);
    tg_tensor *x = the_input();
    tg_tensor *y = tg_model_forward(model, x);
    assert_outputs_agree(printed, y);
    tg_free(x);
    tg_model_free(model);
    reset_tape();
    remove_temp_dir(dir);
}
