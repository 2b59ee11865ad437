/* tapegrad/nn.h — layers, activations, losses, models: compositions of ops.
 *
 * Nothing here computes a gradient: every function builds its result from the
 * ops of ops.h, and the tape differentiates it. Parameters are persistent
 * tensors (requires_grad) owned by their layer.
 *
 * Data layout: a batch is (batch, features); a dense layer computes
 * y = x @ W + b with W of shape (in, out) and b of shape (out).
 */
#ifndef TAPEGRAD_NN_H
#define TAPEGRAD_NN_H

#include <stdbool.h>
#include <stdint.h>

#include "conv.h"
#include "error.h"
#include "norm.h"
#include "random.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- initializers (all driven by a caller-owned tg_rng) ----
 * fan_in / fan_out are the layer's input and output sizes.
 *   GLOROT_UNIFORM  U(-a, a), a = sqrt(6 / (fan_in + fan_out))
 *   GLOROT_NORMAL   N(0, s),  s = sqrt(2 / (fan_in + fan_out))
 *   HE_UNIFORM      U(-a, a), a = sqrt(6 / fan_in)
 *   HE_NORMAL       N(0, s),  s = sqrt(2 / fan_in)
 *   ZEROS, CONSTANT (value) */
typedef enum tg_init {
    TG_INIT_GLOROT_UNIFORM = 0,
    TG_INIT_GLOROT_NORMAL,
    TG_INIT_HE_UNIFORM,
    TG_INIT_HE_NORMAL,
    TG_INIT_ZEROS,
    TG_INIT_CONSTANT
} tg_init;

/* Fills persistent `t` in place. `rng` may be NULL for ZEROS and CONSTANT. The
 * random inits draw exactly what tg_rand_uniform / tg_rand_normal would draw
 * from `rng` for t's dtype and shape. Errors: NULL, tape tensor, NULL rng for
 * a random init, fan_in/fan_out < 1 where used (Glorot uses both, He fan_in),
 * a CONSTANT value that is NaN or infinite. */
tg_status tg_init_tensor(tg_tensor *t, tg_init init, tg_rng *rng, int64_t fan_in, int64_t fan_out, double value);

/* ---- activations: f(x), elementwise, from ops ----
 * Each returns a tape tensor of x's shape and dtype (NULL on error). Where a
 * formula has a kink, the derivative there is the one of the branch the
 * formula picks (leaky ReLU: slope at 0), never a half-and-half. */
/* x if x > 0 else slope x; slope finite.   d: 1 if x > 0 else slope */
tg_tensor *tg_leaky_relu(tg_tensor *x, double slope);
/* swish: x sigmoid(x); 0 with gradient 0 at -inf (PyTorch gives NaN there). */
tg_tensor *tg_silu(tg_tensor *x);
/* GELU, exact form (PyTorch's F.gelu default, approximate="none"):
 * x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)). Exactly 0, with gradient 0, below
 * -50 (where the true value underflows) and at -inf. TG_ACT_GELU uses it. */
tg_tensor *tg_gelu(tg_tensor *x);
/* GELU, tanh form (GPT-2's; PyTorch's approximate="tanh"):
 * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); 0 below -50 as tg_gelu. */
tg_tensor *tg_gelu_tanh(tg_tensor *x);
/* log(1 + e^x), stable: relu(x) + log(1 + e^-|x|) (finite for any finite x).
 * d: sigmoid(x), also at 0 */
tg_tensor *tg_softplus(tg_tensor *x);
/* (relu, sigmoid, tanh, softmax, log_softmax are ops: see ops.h.) */
/* ---- recurrent cells and sequences: compositions of ops ----
 * PyTorch's layout (nn.LSTM, nn.GRU, one layer, batch_first=False): x (B, I)
 * for a cell, (T, B, I) for a sequence; h and c (B, H); w_ih (G H, I),
 * w_hh (G H, H), b_ih and b_hh (G H), the G gates stacked along the rows in
 * PyTorch's order. Outputs are tape tensors; gradients reach every input
 * that requires one. Errors (under the function called; a sequence passes
 * up its cell's): TG_ERR_SHAPE naming every shape when they do not fit,
 * TG_ERR_DTYPE for mixed dtypes, NULL or stale tensors; NULL outputs
 * (TG_ERR_ARGUMENT). */
/* LSTM, gates i, f, g, o (G = 4): with z = x w_ih^T + b_ih + h w_hh^T + b_hh,
 * c' = sigmoid(z_f) c + sigmoid(z_i) tanh(z_g), h' = sigmoid(z_o) tanh(c'),
 * into *h_out and *c_out. */
tg_status tg_lstm_cell(tg_tensor *x, tg_tensor *h, tg_tensor *c, tg_tensor *w_ih, tg_tensor *w_hh, tg_tensor *b_ih,
                       tg_tensor *b_hh, tg_tensor **h_out, tg_tensor **c_out);
/* GRU, gates r, z, n (G = 3): r, z = sigmoid of their rows of
 * x w_ih^T + b_ih + h w_hh^T + b_hh, n = tanh(x w_in^T + b_in + r (h w_hn^T +
 * b_hn)); returns h' = (1 - z) n + z h. */
tg_tensor *tg_gru_cell(tg_tensor *x, tg_tensor *h, tg_tensor *w_ih, tg_tensor *w_hh, tg_tensor *b_ih,
                       tg_tensor *b_hh);
/* The cells run over x (T, B, I), T >= 1, from h0 (and c0): returns every
 * step's h as (T, B, H) (nn.LSTM's output); the last h and c go to *h_last
 * and *c_last unless NULL. */
tg_tensor *tg_lstm(tg_tensor *x, tg_tensor *h0, tg_tensor *c0, tg_tensor *w_ih, tg_tensor *w_hh, tg_tensor *b_ih,
                   tg_tensor *b_hh, tg_tensor **h_last, tg_tensor **c_last);
tg_tensor *tg_gru(tg_tensor *x, tg_tensor *h0, tg_tensor *w_ih, tg_tensor *w_hh, tg_tensor *b_ih, tg_tensor *b_hh);


/* ---- losses: a rank-0 tensor, the mean over all elements / samples ----
 * A rank-0 tape tensor of the inputs' dtype, or NULL on error. Prediction and
 * target must have one dtype and exactly one shape, with at least one
 * element: nothing broadcasts, so a (n,1) prediction against a (n) target is
 * refused (TG_ERR_SHAPE, naming the loss and both shapes) instead of being
 * averaged over (n,n). */
/* mean((pred - target)^2). */
tg_tensor *tg_mse_loss(tg_tensor *pred, tg_tensor *target);
/* Binary cross-entropy on probabilities, from log and mean as the seeds write
 * it: mean(-(y max(log p, -100) + (1 - y) max(log(1 - p), -100))); after
 * p = sigmoid(z) the gradient at z is (p - y) / m. Each log is clamped at
 * -100, as PyTorch's BCELoss does, so p of exactly 0 or 1 (a float32 sigmoid
 * is exactly 1 for z > ~17) gives a finite loss (100 per element whose label
 * disagrees, 0 where it agrees) and a finite gradient (0 where the clamp
 * holds). p must be in [0, 1]: a p outside it is refused, naming its value
 * and index (TG_ERR_ARGUMENT; TG_ERR_NUMERIC for NaN or Inf). Prefer
 * tg_bce_with_logits_loss when the logits are at hand: it has no clamp. */
tg_tensor *tg_bce_loss(tg_tensor *prob, tg_tensor *target);
/* Binary cross-entropy on logits z, stable for |z| up to 1e3 and beyond:
 * mean(y softplus(-z) + (1 - y) softplus(z)) = mean(softplus(z) - z y).
 * d/dz: (sigmoid(z) - y) / m, exactly 0 or +-1/m at z = +-1000. A term whose
 * weight (y or 1 - y) is exactly 0 counts 0, so an infinite z whose label
 * agrees (-inf with y = 0, +inf with y = 1) costs 0 with gradient 0; one that
 * disagrees costs +inf (PyTorch gives NaN for both). */
tg_tensor *tg_bce_with_logits_loss(tg_tensor *logits, tg_tensor *target);
/* Softmax cross-entropy: logits (batch, classes), labels (batch) holding
 * class indices 0..classes-1 (as floats, e.g. TG_ENCODE_INDEX batches):
 * mean over the batch of -log_softmax(logits)[label].
 * d/dlogits: (softmax(logits) - one_hot) / batch. A masked class (logit
 * -inf) other than the label has probability 0: the loss stays finite and
 * its gradient is exactly 0 there (a -inf at the label gives +inf, as in
 * PyTorch). Labels may have any dtype
 * and are read during the call only (the one-hot is built on the tape), so
 * the caller may free them right after. Errors: logits not (batch, classes)
 * with both >= 1, labels not of shape (batch) (TG_ERR_SHAPE); a label that is
 * not an integer in [0, classes) (TG_ERR_ARGUMENT, naming its row). Labels
 * may be int64 / int32 tensors (tg_argmax's, a dataset's) or floats. */
tg_tensor *tg_cross_entropy_loss(tg_tensor *logits, const tg_tensor *labels);
/* Options of tg_cross_entropy_loss_ex, PyTorch's arguments of the same
 * names: a row whose label equals ignore_index is left out (it adds
 * nothing, its logits get 0 gradient, and the mean is over the other rows);
 * label_smoothing e in [0, 1] mixes the one-hot target with the uniform
 * one: target = (1 - e) one_hot + e / classes. */
typedef struct tg_cross_entropy_options {
    int64_t ignore_index;   /* default -100, as PyTorch's */
    double label_smoothing; /* default 0 */
} tg_cross_entropy_options;
/* The defaults: ignore_index -100, label_smoothing 0. */
tg_cross_entropy_options tg_cross_entropy_defaults(void);
/* torch.nn.functional.cross_entropy(logits, labels, ignore_index=...,
 * label_smoothing=...) with the mean reduction: logits (batch, classes),
 * labels (batch) of any dtype holding class indices or ignore_index;
 * options NULL means the defaults. Per counted row the loss is
 * (1 - e) (-log_softmax(logits)[label]) + (e / classes) sum_c
 * -log_softmax(logits)[c]; the result is their sum over the number of
 * counted rows, NaN (as PyTorch) when every row is ignored. Composed of
 * ops, so it differentiates to any order. Errors: as tg_cross_entropy_loss
 * (an ignored row's label is not checked); label_smoothing outside [0, 1]
 * or NaN (TG_ERR_ARGUMENT). */
tg_tensor *tg_cross_entropy_loss_ex(tg_tensor *logits, const tg_tensor *labels,
                                    const tg_cross_entropy_options *options);
/* Huber: mean of 0.5 d^2 where |d| <= delta, delta (|d| - 0.5 delta) elsewhere,
 * d = pred - target; delta finite and > 0 (TG_ERR_ARGUMENT). d/dpred: d
 * inside, delta sign(d) outside; finite even where d^2 would overflow. */
tg_tensor *tg_huber_loss(tg_tensor *pred, tg_tensor *target, double delta);

/* ---- modules: layers, blocks and models ----
 * A module is a node of a tree, as PyTorch's nn.Module: it has a kind
 * ("dense", "sequential", "my_block"), any number of named parameters
 * (trainable: requires_grad), named buffers (not trainable, but saved and
 * loaded: running statistics, counters), named child modules, a train/eval
 * flag, optional state of its own (a user struct) and a forward. Names are
 * reached by dotted paths, "features.0.weight", as in a PyTorch state_dict.
 *
 * Forward. Two kinds, pick the one that reads best:
 *   - tg_module_forward_fn, one tensor in and one out (a layer): x -> y;
 *   - tg_module_forward_n_fn, any number in and out: it reads in[0..n_in), writes
 *     out[0..k) with k <= max_out, and returns k (-1 after reporting an
 *     error).
 * A module made without a forward runs its children in order, each one's
 * outputs being the next one's inputs (nn.Sequential). A user module is
 * usually a struct of child pointers (its state) and a forward that calls
 * tg_module_forward on them in any order it likes (see ARCHITECTURE.md).
 *
 * Ownership. A module belongs to its creator (tg_module_free) until
 * something holds it: a parent (tg_module_add_child) or a module that uses
 * one of its parameters (tg_module_tie_param). From then on it is freed
 * with the last holder, and tg_module_free refuses it. A module may be held
 * many times (twice in one model, in several models); a module never holds
 * itself, through children or ties (refused). The tensors handed to
 * tg_module_add_param / tg_module_add_buffer become the module's: it frees
 * them. A tensor used in several places (a module held twice, a tied
 * parameter) is listed, saved and loaded once, under its first name in
 * the walk order (each module's parameters, its buffers, then its children
 * in the order they were added), as PyTorch's parameters() lists them.
 *
 * The names of earlier versions remain: tg_layer and tg_model are the same
 * type as tg_module, and the tg_layer_ and tg_model_ functions below are
 * the module functions under those names (reporting errors under them). */
typedef struct tg_module tg_module;
typedef struct tg_module tg_layer;
typedef struct tg_module tg_model;
typedef tg_tensor *(*tg_module_forward_fn)(tg_module *self, tg_tensor *x);
typedef int (*tg_module_forward_n_fn)(tg_module *self, int n_in, tg_tensor *const *in, int max_out, tg_tensor **out);
/* The most tensors one module of a chain (a module without forward) passes
 * to the next. */
#define TG_MODULE_MAX_IO 16

/* A new module of `kind` (copied; non-empty) with a one-in, one-out forward
 * (NULL: run the children in order), in training mode, with nothing in it.
 * Errors: NULL or empty kind (TG_ERR_ARGUMENT), memory. */
tg_module *tg_module_new(const char *kind, tg_module_forward_fn forward);
/* The same with a forward of any number of inputs and outputs (not NULL). */
tg_module *tg_module_new_n(const char *kind, tg_module_forward_n_fn forward);
/* Attaches the module's own data (a struct of child pointers, sizes, a
 * constant), returned by tg_module_state; free_state (may be NULL) is called
 * on it when the module is freed, after its children and tensors are let go.
 * Replacing a state frees the old one. Errors: NULL module. */
tg_status tg_module_set_state(tg_module *module, void *state, void (*free_state)(void *state));
void *tg_module_state(const tg_module *module);
/* The kind given to tg_module_new ("dense", "relu", "sequential", ...);
 * NULL (reported) for a NULL module. */
const char *tg_module_kind(const tg_module *module);

/* Registers persistent `tensor` under `name` as a parameter (requires_grad
 * is set) or a buffer (requires_grad off: running statistics, counters),
 * and hands it to the module, which frees it. Returns the tensor, or NULL
 * on error; a persistent tensor is then freed (it was handed over). A NULL
 * tensor while an error is pending (tg_zeros failed) keeps that error. A name
 * is non-empty, has no '.', and is unique among the module's parameters,
 * buffers and children (TG_ERR_ARGUMENT). Errors also: NULL module or
 * tensor (TG_ERR_ARGUMENT), a tensor on a tape (TG_ERR_TAPE), memory. The
 * tensor must be the caller's own: to share one, use tg_module_tie_param. */
tg_tensor *tg_module_add_param(tg_module *module, const char *name, tg_tensor *tensor);
tg_tensor *tg_module_add_buffer(tg_module *module, const char *name, tg_tensor *tensor);
/* Marks rank-2 parameter `name` as saved and loaded transposed, so that
 * files hold PyTorch's layout (a dense weight is (in, out) here, (out, in)
 * in files, as nn.Linear's). Errors: no such parameter, rank not 2
 * (TG_ERR_ARGUMENT). */
tg_status tg_module_transpose_in_files(tg_module *module, const char *name);
/* Adds `child` under `name` (NULL: its position, "0", "1", ..., as in
 * nn.Sequential), and holds it; the child takes the parent's train/eval
 * mode. Returns the child, or NULL on error: a child that nothing held is
 * then freed (it was handed over), except after a cycle; a held one is left
 * as it is. Errors: NULL module or child, a name taken or malformed (see
 * tg_module_add_param), a child that holds the module, a cycle
 * (TG_ERR_ARGUMENT), memory. */
tg_module *tg_module_add_child(tg_module *module, const char *name, tg_module *child);

/* The parameter, buffer or descendant module at dotted `path` ("weight",
 * "features.0.bias"). NULL if there is none: reported (TG_ERR_ARGUMENT,
 * naming the path) for the first two, not an error for tg_module_find. */
tg_tensor *tg_module_param(const tg_module *module, const char *path);
tg_tensor *tg_module_buffer(const tg_module *module, const char *path);
tg_module *tg_module_find(const tg_module *module, const char *path);
/* The module's direct children, in the order they were added; `name` (may
 * be NULL) receives the child's name, valid while the child is held. */
int tg_module_num_children(const tg_module *module);
tg_module *tg_module_child_at(const tg_module *module, int index, const char **name);

/* Runs the module's forward on one input and expects one output. Errors:
 * NULL module or x, a forward that gave another number of outputs, and the
 * forward's own (reported once, under tg_module_forward, naming the child:
 * "tg_module_forward: layer 2: dense layer: ..."). */
tg_tensor *tg_module_forward(tg_module *module, tg_tensor *x);
/* Runs the module's forward on n_in >= 1 inputs into out[0..max_out);
 * returns the number of outputs, -1 on error. A one-in forward takes
 * exactly one input. Errors: NULL module, in or out, a NULL input, n_in < 1
 * or max_out < 1, and the forward's own. */
int tg_module_forward_n(tg_module *module, int n_in, tg_tensor *const *in, int max_out, tg_tensor **out);

/* Train (true) or eval mode, for the module and all its descendants
 * (modules that behave differently, dropout and batch norm, read it with
 * tg_module_is_training). Modules start in training mode. */
void tg_module_set_training(tg_module *module, bool training);
bool tg_module_is_training(const tg_module *module);

/* Ties a parameter: `module`'s parameter `name` becomes the very tensor of
 * `source`'s parameter `source_name` (a language model's output head using
 * its token embedding's weight). From then on one tensor serves both: an
 * optimizer updates it once, its gradient is the sum of both uses, a model
 * lists and saves it once (under its first name). The tensor the module had
 * there is freed, so tie before handing parameters to an optimizer or
 * recording on a tape. `module` holds `source` (or the module that owns the
 * tensor, if source's slot is itself tied): that one lives at least as long.
 * Tying a slot to the tensor it already has does nothing. Errors: NULL
 * arguments, a name the module does not have (TG_ERR_ARGUMENT, listing its
 * names); the two tensors of another dtype (TG_ERR_DTYPE) or shape
 * (TG_ERR_SHAPE); a slot that other modules are tied to (tie them to the
 * source instead), and a tie that would make a module hold itself, directly
 * or through children or other ties (TG_ERR_ARGUMENT). Nothing changes on
 * error. */
tg_status tg_module_tie_param(tg_module *module, const char *name, tg_module *source, const char *source_name);

/* The parameters of the whole tree, each distinct tensor once, in walk
 * order (see "Ownership"): how many; the index-th with its dotted name
 * written into name_buf (may be NULL); up to max pointers into out (returns
 * how many were written); the total number of scalars. The same for buffers.
 * Errors: NULL module, an index out of range, NULL out with max > 0, max < 0
 * (TG_ERR_ARGUMENT; 0 or NULL returned). */
int tg_module_num_params(const tg_module *module);
tg_tensor *tg_module_param_at(const tg_module *module, int index, char *name_buf, size_t name_size);
int tg_module_params(const tg_module *module, tg_tensor **out, int max);
int64_t tg_module_param_count(const tg_module *module);
int tg_module_num_buffers(const tg_module *module);
tg_tensor *tg_module_buffer_at(const tg_module *module, int index, char *name_buf, size_t name_size);

/* Saves / loads every parameter and buffer under its dotted name
 * (safetensors, checkpoint.h) in PyTorch's layout, so that a file moves
 * between tapegrad and a PyTorch module of the same architecture (its
 * state_dict: nn.Linear "weight" (out, in), nn.BatchNorm2d's running_mean,
 * running_var, num_batches_tracked): parameters marked with
 * tg_module_transpose_in_files are written and read transposed. Saving
 * writes the metadata TG_MODEL_LAYOUT_KEY = TG_MODEL_LAYOUT_PYTORCH.
 * Loading reads the layout from the metadata: that key means PyTorch's
 * layout; a file without it but with tapegrad's checksum was written by an
 * earlier tapegrad (dense weights (in, out)) and is read in that layout; a
 * file with neither (another tool, e.g. PyTorch) is read in PyTorch's
 * layout; another value of the key is refused (TG_ERR_FORMAT). Stored
 * dtypes are converted as tg_checkpoint_load_into says (F64 into a float32
 * module rounds; PyTorch's int64 counters load exactly). Loading is all or
 * nothing and strict: the file must hold exactly the module's names, one
 * more or one less is another architecture (TG_ERR_ARGUMENT, naming it),
 * each with its shape (TG_ERR_SHAPE, naming the parameter or buffer and
 * both shapes in the file's layout), all checked before anything is
 * written; plus the errors of tg_checkpoint_open (TG_ERR_IO, TG_ERR_FORMAT).
 * Loaded tensors are changed in place (version + 1 each, tape.h). */
#define TG_MODEL_LAYOUT_KEY "tapegrad.layout"
#define TG_MODEL_LAYOUT_PYTORCH "pytorch"
tg_status tg_module_save(const tg_module *module, const char *path);
tg_status tg_module_load(tg_module *module, const char *path);
/* Frees a module nothing holds: it lets go of its children and of the
 * modules it has tied parameters from (each freed when nothing else holds
 * it), frees its parameters and buffers, then calls free_state. NULL is
 * ignored. A held module is refused (TG_ERR_ARGUMENT, naming how many hold
 * it) and left as it is: it goes with the last of its holders. */
void tg_module_free(tg_module *module);

/* ---- built-in layers ---- */

/* Dense: y = x @ W + b; W (in, out) initialized with `init` (fans in, out),
 * b with zeros. Parameters are of `dtype`, named "weight" and "bias"; files
 * hold the weight transposed, (out, in), as PyTorch's nn.Linear. x is
 * (batch, in), or (..., in) with leading batch axes. Errors: sizes < 1, NULL
 * rng for random inits; in forward, x's last size not `in`, rank < 2
 * (TG_ERR_SHAPE) or another dtype (TG_ERR_DTYPE). */
tg_layer *tg_dense_new(tg_rng *rng, tg_dtype dtype, int64_t in, int64_t out, tg_init init);

typedef enum tg_activation {
    TG_ACT_RELU = 0,
    TG_ACT_LEAKY_RELU, /* slope 0.01 */
    TG_ACT_SIGMOID,
    TG_ACT_TANH,
    TG_ACT_SILU,
    TG_ACT_GELU,
    TG_ACT_SOFTPLUS,
    TG_ACT_SOFTMAX /* along the last axis */
} tg_activation;
/* A parameterless layer applying an activation; its kind is the activation's
 * name ("relu", "leaky_relu", ..., "softmax"). Leaky ReLU's slope is 0.01. */
tg_layer *tg_activation_layer_new(tg_activation activation);
/* A leaky ReLU layer of another slope (finite; TG_ERR_ARGUMENT otherwise). */
tg_layer *tg_leaky_relu_layer_new(double slope);
/* Applies an activation to a tensor (the same functions the layers use). */
tg_tensor *tg_activate(tg_activation activation, tg_tensor *x);

/* ---- convolution, pooling, normalization and dropout layers ----
 * Modules over the functions of conv.h and norm.h, with PyTorch's names
 * (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.Flatten, nn.BatchNorm2d,
 * nn.LayerNorm, nn.Dropout) and state_dict entries. Errors in forward are
 * those of the function the layer calls. */

/* Conv2d: y = tg_conv2d(x, weight, bias, opts), x (N, C_in, H, W). weight
 * (out_channels, in_channels / groups, kernel, kernel) initialized with
 * `init` (fans as PyTorch counts them: in_channels / groups * kernel^2 and
 * out_channels / groups * kernel^2); "bias" (out_channels), zeros, when
 * `bias`. opts NULL: TG_CONV2D_DEFAULTS (stride 1, no padding). Errors:
 * sizes < 1, groups not dividing the channels, stride or dilation < 1,
 * negative padding, an unknown dtype or init, NULL rng for random inits. */
tg_layer *tg_conv2d_layer_new(tg_rng *rng, tg_dtype dtype, int64_t in_channels, int64_t out_channels,
                              int64_t kernel, const tg_conv2d_opts *opts, bool bias, tg_init init);
/* MaxPool2d / AvgPool2d: tg_max_pool2d / tg_avg_pool2d with these settings;
 * stride 0 means stride = kernel (PyTorch's default). Errors: kernel or
 * stride < 1, padding outside 0..kernel / 2. */
tg_layer *tg_max_pool2d_layer_new(int64_t kernel, int64_t stride, int64_t padding);
tg_layer *tg_avg_pool2d_layer_new(int64_t kernel, int64_t stride, int64_t padding);
/* Flatten: tg_flatten(x, start_axis, end_axis); nn.Flatten's default is
 * (1, -1). Axes are checked in forward. */
tg_layer *tg_flatten_layer_new(int start_axis, int end_axis);
/* BatchNorm2d over x (N, C, H, W): parameters "weight" (C, ones), "bias" (C,
 * zeros); buffers "running_mean" (C, zeros), "running_var" (C, ones) and
 * "num_batches_tracked" (rank 0, float64: PyTorch's int64 loads exactly).
 * Training mode: batch statistics, running ones updated with `momentum`
 * (PyTorch: 0.1), the count + 1; eval mode: the running statistics
 * (tg_batch_norm). Errors: channels < 1, eps not finite and > 0, momentum
 * outside [0, 1], an unknown dtype; in forward, x not of rank 4. */
tg_layer *tg_batch_norm2d_layer_new(tg_dtype dtype, int64_t channels, double eps, double momentum);
/* LayerNorm over the last n_axes axes, of sizes normalized_shape[0..n_axes):
 * with `affine`, parameters "weight" (ones) and "bias" (zeros) of that shape
 * (tg_layer_norm). Errors: n_axes outside 1..TG_MAX_RANK, a size < 1, NULL
 * normalized_shape, eps not finite and > 0, an unknown dtype. */
tg_layer *tg_layer_norm_layer_new(tg_dtype dtype, int n_axes, const int64_t *normalized_shape, double eps,
                                  bool affine);
/* Dropout with probability p in [0, 1) (TG_ERR_ARGUMENT otherwise): in
 * training mode tg_dropout(x, p, true, seed, counter), the counter then + 1,
 * so each call draws a new mask and a run is the same on any thread count;
 * in eval mode x itself. The counter is the layer's only state: save it
 * with tg_dropout_layer_counter and set it back on resume. Errors of the
 * two: NULL or a layer that is not a dropout layer (TG_ERR_ARGUMENT). */
tg_layer *tg_dropout_layer_new(double p, uint64_t seed);
uint64_t tg_dropout_layer_counter(const tg_layer *layer);
tg_status tg_dropout_layer_set_counter(tg_layer *layer, uint64_t counter);

/* ---- the names of earlier versions (see "Ownership" above) ----
 * tg_layer_forward = tg_module_forward, tg_layer_free = tg_module_free,
 * tg_layer_tie_param = tg_module_tie_param. */
tg_tensor *tg_layer_forward(tg_layer *layer, tg_tensor *x);
void tg_layer_free(tg_layer *layer);
tg_status tg_layer_tie_param(tg_layer *layer, const char *name, tg_layer *source, const char *source_name);

/* A model is a module without forward ("sequential"): tg_model_new makes
 * one, tg_model_add appends a layer or a block (tg_module_add_child with
 * the next index as its name; TG_OK or the error's status). The rest are
 * the module functions: tg_model_forward, tg_model_num_layers (children),
 * tg_model_layer (the index-th child; TG_ERR_ARGUMENT out of range),
 * tg_model_num_params, tg_model_param ("0.weight"), tg_model_params,
 * tg_model_param_count, tg_model_set_training, tg_model_save,
 * tg_model_load, tg_model_free. */
tg_model *tg_model_new(void);
tg_status tg_model_add(tg_model *model, tg_layer *layer);
/* Builds a multilayer perceptron: sizes[0] inputs, then a dense layer to each
 * of sizes[1..n_sizes), each but the last followed by `hidden`; the last is
 * followed by `output` (a tg_activation) unless output < 0 (logits). So dense
 * layers sit at even indices ("0.weight", "2.weight", ...), as in the
 * equivalent nn.Sequential. Weights: He uniform for dense layers followed by
 * a ReLU-family `hidden` (RELU, LEAKY_RELU, SILU, GELU), Glorot uniform
 * otherwise (always for the last). Errors: n_sizes < 2, a size < 1, an
 * unknown activation, NULL rng. */
tg_model *tg_mlp_new(tg_rng *rng, tg_dtype dtype, int n_sizes, const int64_t *sizes, tg_activation hidden,
                     int output);
tg_tensor *tg_model_forward(tg_model *model, tg_tensor *x);
int tg_model_num_layers(const tg_model *model);
tg_layer *tg_model_layer(tg_model *model, int index);
int tg_model_num_params(const tg_model *model);
tg_tensor *tg_model_param(tg_model *model, int index, char *name_buf, size_t name_size);
int tg_model_params(tg_model *model, tg_tensor **out, int max);
int64_t tg_model_param_count(const tg_model *model);
void tg_model_set_training(tg_model *model, bool training);
tg_status tg_model_save(const tg_model *model, const char *path);
tg_status tg_model_load(tg_model *model, const char *path);
void tg_model_free(tg_model *model);

/* ---- metrics (no gradient; they read values, never record; NaN on error) ---- */
/* Fraction of rows whose arg-max (the first, under ties) of scores (batch,
 * classes) — logits or probabilities — equals the label (labels as in
 * tg_cross_entropy_loss, validated the same way: int64 / int32 labels or
 * floats). */
double tg_accuracy(const tg_tensor *scores, const tg_tensor *labels);
/* Fraction of elements where (prob >= 0.5) equals target; one shape, and
 * every target exactly 0 or 1 (TG_ERR_ARGUMENT otherwise). */
double tg_binary_accuracy(const tg_tensor *prob, const tg_tensor *target);

#ifdef __cplusplus
}
#endif
#endif
