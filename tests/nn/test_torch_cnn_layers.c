/* tests/nn/test_torch_cnn_layers.c — the two CNNs of examples/mnist_cnn.c
 * against the same nn.Sequential in PyTorch: tg_model_save's file holds
 * exactly the Sequential's state_dict names and shapes (batch norm's
 * running statistics and counter included), loads into it with
 * load_state_dict(strict=True), and the Sequential in eval mode then gives
 * tapegrad's eval outputs. The buffers are moved off their starting values
 * by training-mode forwards first, so a buffer lost on the way shows.
 * Skipped, with the reason, without Debian's python3 with torch and numpy
 * (apt-get install python3-torch). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "examples/mnist_cnn_models.h"
#include "tapegrad.h"
#include "tests/test_helpers.h"

#define PYTHON "/usr/bin/python3"
#define BATCH 3

static bool have_torch(void) {
    if (access(PYTHON, X_OK) != 0) return false;
    return system(PYTHON " -c 'import torch, numpy' >/dev/null 2>&1") == 0;
}

/* argv: the file, "lenet" or "variant". The input's values are exact in
 * float32 and the same as the_input() below. */
static const char *python_script =
    "import json, struct, sys\n"
    "import numpy as np\n"
    "import torch\n"
    "from torch import nn\n"
    "if sys.argv[2] == 'lenet':\n"
    "    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),\n"
    "        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),\n"
    "        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))\n"
    "else:\n"
    "    model = nn.Sequential(nn.Conv2d(1, 32, 3, bias=False), nn.BatchNorm2d(32), nn.ReLU(),\n"
    "        nn.Conv2d(32, 64, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),\n"
    "        nn.Dropout(0.25), nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5),\n"
    "        nn.Linear(128, 10))\n"
    "with open(sys.argv[1], 'rb') as f:\n"
    "    n = struct.unpack('<Q', f.read(8))[0]\n"
    "    header = json.loads(f.read(n))\n"
    "    data = f.read()\n"
    "header.pop('__metadata__', None)\n"
    "want = model.state_dict()\n"
    "assert list(header) != [] and sorted(header) == sorted(want), (sorted(header), sorted(want))\n"
    "for name, t in want.items():\n"
    "    assert header[name]['shape'] == list(t.shape), (name, header[name]['shape'], list(t.shape))\n"
    "kinds = {'F32': '<f4', 'F64': '<f8'}\n"
    "state = {}\n"
    "for name, e in header.items():\n"
    "    b, end = e['data_offsets']\n"
    "    state[name] = torch.from_numpy(np.frombuffer(data[b:end], kinds[e['dtype']]).reshape(e['shape']).copy())\n"
    "model.load_state_dict(state, strict=True)\n"
    "model.eval()\n"
    "x = torch.tensor([((i * 37) % 101) / 101.0 for i in range(3 * 784)], dtype=torch.float32).reshape(3, 1, 28, 28)\n"
    "with torch.no_grad():\n"
    "    print(' '.join(repr(v) for v in model(x).flatten().tolist()))\n";

static tg_tensor *the_input(void) {
    double x[BATCH * 784];
    for (int i = 0; i < BATCH * 784; i++) x[i] = ((i * 37) % 101) / 101.0;
    return tg_from_doubles(TG_F32, 4, (int64_t[]){BATCH, 1, 28, 28}, x);
}

static void run_python(const char *checkpoint, const char *which, char *out, size_t out_size) {
    char script[] = "/tmp/tg_torch_cnn_XXXXXX";
    int fd = mkstemp(script);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(python_script, f);
    fclose(f);
    char command[512];
    snprintf(command, sizeof command, PYTHON " %s '%s' %s 2>&1", script, checkpoint, which);
    FILE *p = popen(command, "r");
    cr_assert_not_null(p);
    size_t got = fread(out, 1, out_size - 1, p);
    out[got] = '\0';
    int status = pclose(p);
    unlink(script);
    cr_assert_eq(status, 0, "python failed:\n%s", out);
}

static void compare_with_torch(tg_model *model, const char *which) {
    char dir[64], path[96], printed[8192];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, which);
    tg_tensor *x = the_input();
    for (int step = 0; step < 2; step++) cr_assert_not_null(tg_model_forward(model, x), "%s", tg_last_error_message());
    tg_model_set_training(model, false);
    tg_tensor *y = tg_model_forward(model, x);
    cr_assert_not_null(y, "%s", tg_last_error_message());
    cr_assert_eq(tg_model_save(model, path), TG_OK, "%s", tg_last_error_message());
    run_python(path, which, printed, sizeof printed);
    const char *at = printed;
    for (int k = 0; k < BATCH * 10; k++) {
        char *end;
        double want = strtod(at, &end);
        cr_assert(end != at, "torch printed too few values: %s", printed);
        at = end;
        double got = tg_get_flat(y, k);
        cr_assert(fabs(got - want) <= 1e-4 * fmax(1, fabs(want)), "%s y[%d]: tapegrad %.9g, torch %.9g", which, k,
                  got, want);
    }
    tg_free(x);
    remove_temp_dir(dir);
    reset_tape();
}

Test(torch_cnn_layers, lenet5_state_dict_and_outputs_match_nn_sequential) {
    if (!have_torch())
        cr_skip_test("PyTorch not available (" PYTHON " -c 'import torch, numpy' failed); apt-get install python3-torch");
    tg_model *model = lenet5_new(3, TG_F32);
    compare_with_torch(model, "lenet");
    tg_model_free(model);
}

Test(torch_cnn_layers, variant_state_dict_buffers_and_outputs_match_nn_sequential) {
    if (!have_torch())
        cr_skip_test("PyTorch not available (" PYTHON " -c 'import torch, numpy' failed); apt-get install python3-torch");
    tg_model *model = cnn_variant_new(4, TG_F32);
    compare_with_torch(model, "variant");
    tg_model_free(model);
}
