/* tests/nn/test_torch_modules.c — the nested model of module_fixture.h
 * against its PyTorch twin: the names and shapes tg_module_save writes are
 * those of the twin's named_parameters() and named_buffers(), the file
 * loads into it (load_state_dict, strict but for the tied body.b.weight,
 * which PyTorch's state_dict repeats and tapegrad saves once), and the twin
 * then gives tapegrad's outputs. Skipped, with the reason, without Debian's
 * python3 with torch and numpy (apt-get install python3-torch). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tapegrad.h"
#include "tests/nn/module_fixture.h"
#include "tests/test_helpers.h"

#define PYTHON "/usr/bin/python3"

static bool have_torch(void) {
    if (access(PYTHON, X_OK) != 0) return false;
    return system(PYTHON " -c 'import torch, numpy' >/dev/null 2>&1") == 0;
}

/* The twin, a reader of the file (json and numpy only), the checks. The
 * input's values, (i % 7 - 3) / 4, are exact in float32. */
static const char *python_script =
    "import json, struct, sys\n"
    "from collections import OrderedDict\n"
    "import numpy as np\n"
    "import torch\n"
    "from torch import nn\n"
    "class Stat(nn.Module):\n"
    "    def __init__(self, n):\n"
    "        super().__init__()\n"
    "        self.gain = nn.Parameter(torch.ones(n))\n"
    "        self.register_buffer('running_mean', torch.zeros(n))\n"
    "        self.register_buffer('num_batches_tracked', torch.tensor(0, dtype=torch.long))\n"
    "    def forward(self, x):\n"
    "        return x * self.gain\n"
    "class Body(nn.Module):\n"
    "    def __init__(self, n):\n"
    "        super().__init__()\n"
    "        self.a = nn.Linear(n, n)\n"
    "        self.b = nn.Linear(n, n)\n"
    "        self.b.weight = self.a.weight\n"
    "    def forward(self, x):\n"
    "        return x + self.b(torch.relu(self.a(x)))\n"
    "model = nn.Sequential(OrderedDict(features=nn.Sequential(nn.Linear(3, 4), Stat(4), nn.ReLU()),\n"
    "                                  body=Body(4), head=nn.Linear(4, 2)))\n"
    "with open(sys.argv[1], 'rb') as f:\n"
    "    n = struct.unpack('<Q', f.read(8))[0]\n"
    "    header = json.loads(f.read(n))\n"
    "    data = f.read()\n"
    "header.pop('__metadata__', None)\n"
    "want = OrderedDict(list(model.named_parameters()) + list(model.named_buffers()))\n"
    "assert sorted(header) == sorted(want), (sorted(header), sorted(want))\n"
    "for name, t in want.items():\n"
    "    assert header[name]['shape'] == list(t.shape), (name, header[name]['shape'], list(t.shape))\n"
    "kinds = {'F32': '<f4', 'F64': '<f8'}\n"
    "state = {}\n"
    "for name, e in header.items():\n"
    "    b, end = e['data_offsets']\n"
    "    state[name] = torch.from_numpy(np.frombuffer(data[b:end], kinds[e['dtype']]).reshape(e['shape']).copy())\n"
    "result = model.load_state_dict(state, strict=False)\n"
    "assert list(result.missing_keys) == ['body.b.weight'], result\n"
    "assert list(result.unexpected_keys) == [], result\n"
    "assert model.body.b.weight is model.body.a.weight\n"
    "assert model.features[1].num_batches_tracked.dtype == torch.long\n"
    "model.eval()\n"
    "x = torch.tensor([(i % 7 - 3) / 4 for i in range(15)], dtype=torch.float32).reshape(5, 3)\n"
    "with torch.no_grad():\n"
    "    print(' '.join(repr(v) for v in model(x).flatten().tolist()))\n";

static void run_python(const char *checkpoint, char *out, size_t out_size) {
    char script[] = "/tmp/tg_torch_modules_XXXXXX";
    int fd = mkstemp(script);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(python_script, f);
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

Test(torch_modules, nested_names_shapes_and_outputs_match_a_pytorch_twin) {
    if (!have_torch())
        cr_skip_test("PyTorch not available (" PYTHON " -c 'import torch, numpy' failed); apt-get install python3-torch");
    char dir[64], path[96], printed[4096];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/nested.safetensors", dir);
    tg_module *model = fixture_model(11, TG_F32);
    tg_tensor *x = tg_zeros(TG_F32, 2, (int64_t[]){5, 3});
    for (int i = 0; i < 15; i++) tg_set_flat(x, i, (i % 7 - 3) / 4.0);
    cr_assert_not_null(tg_module_forward(model, x)); /* a training step moves the buffers */
    tg_module_set_training(model, false);
    tg_tensor *y = tg_module_forward(model, x);
    cr_assert_eq(tg_module_save(model, path), TG_OK, "%s", tg_last_error_message());
    run_python(path, printed, sizeof printed);
    const char *at = printed;
    for (int k = 0; k < 10; k++) {
        char *end;
        double want = strtod(at, &end);
        cr_assert(end != at, "torch printed too few values: %s", printed);
        at = end;
        double got = tg_get_flat(y, k);
        cr_assert(fabs(got - want) <= 1e-6 * fmax(1, fabs(want)), "y[%d]: tapegrad %.9g, torch %.9g", k, got, want);
    }
    tg_free(x);
    tg_module_free(model);
    remove_temp_dir(dir);
    reset_tape();
}
