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

#include "error.h"
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
tg_tensor *tg_silu(tg_tensor *x);                     /* swish: x sigmoid(x)              */
/* GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
tg_tensor *tg_gelu(tg_tensor *x);
/* log(1 + e^x), stable: relu(x) + log(1 + e^-|x|) (finite for any finite x).
 * d: sigmoid(x), also at 0 */
tg_tensor *tg_softplus(tg_tensor *x);
/* (relu, sigmoid, tanh, softmax, log_softmax are ops: see ops.h.) */

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

/* ---- layers ----
 * A layer is a record like an op: a forward function built from ops and the
 * parameters it owns. The struct is public so that users define their own
 * layers: allocate it zeroed (calloc), fill it, and set destroy to release
 * what they allocated (destroy may call tg_free on every params[k]: a slot
 * holding another layer's tied tensor is set to NULL before destroy runs).
 *
 * Ownership. A new layer belongs to its creator (free it with
 * tg_layer_free) until something holds it: a model (tg_model_add) or a layer
 * that uses one of its parameters (tg_layer_tie_param). From then on it is
 * freed when the last holder lets go (tg_model_free, or the freeing of the
 * tied layer), and tg_layer_free refuses it. A layer may be held many times:
 * twice in one model, in several models, by several tied layers. The fields
 * under "kept by tapegrad" count the holders; leave them zero. */
#define TG_LAYER_MAX_PARAMS 4
typedef struct tg_layer {
    const char *kind; /* "dense", "relu", ...                                */
    tg_tensor *(*forward)(struct tg_layer *self, tg_tensor *x);
    void (*destroy)(struct tg_layer *self); /* frees params, state and self   */
    int n_params;
    tg_tensor *params[TG_LAYER_MAX_PARAMS];
    const char *param_names[TG_LAYER_MAX_PARAMS]; /* "weight", "bias"          */
    /* A rank-2 parameter saved and loaded as its transpose, so that files
     * hold PyTorch's layout (a dense weight is (in, out) here, (out, in) in
     * files, as nn.Linear's). False (calloc) for a user layer's parameters. */
    bool param_transposed_in_files[TG_LAYER_MAX_PARAMS];
    bool training;    /* set by tg_model_set_training                          */
    void *state;      /* the layer's own data                                  */
    double scalar;    /* a constant of parameterless layers (leaky slope)      */
    /* kept by tapegrad (zero in a new layer, never set by hand): */
    int holders;      /* model slots and tied layers that hold this layer      */
    struct tg_layer *param_source[TG_LAYER_MAX_PARAMS]; /* layer whose tensor
                                          params[k] is (tied), NULL: its own   */
    int param_users[TG_LAYER_MAX_PARAMS]; /* other layers' slots tied to k     */
} tg_layer;

/* Dense: y = x @ W + b; W (in, out) initialized with `init` (fans in, out),
 * b with zeros. Parameters are of `dtype`, named "weight" and "bias"; files
 * hold the weight transposed, (out, in), as PyTorch's nn.Linear. x is
 * (batch, in), or (..., in) with leading batch axes. Errors: sizes < 1, NULL
 * rng for random inits; in forward (reported by tg_layer_forward), x's last
 * size not `in`, rank < 2 (TG_ERR_SHAPE) or another dtype (TG_ERR_DTYPE). */
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
 * name ("relu", "leaky_relu", ..., "softmax"). A leaky ReLU layer reads its
 * slope from layer->scalar (0.01, may be changed). */
tg_layer *tg_activation_layer_new(tg_activation activation);
/* Applies an activation to a tensor (the same functions the layers use). */
tg_tensor *tg_activate(tg_activation activation, tg_tensor *x);

/* Runs a layer on x. Errors: NULL layer or x, and the layer's own. */
tg_tensor *tg_layer_forward(tg_layer *layer, tg_tensor *x);
/* Frees a layer that nothing holds (through its destroy, after letting go of
 * the layers it has tied parameters from). NULL is ignored. A layer held by
 * a model or a tied layer is refused (TG_ERR_ARGUMENT, naming how many hold
 * it) and left as it is: it goes with the last of its holders. */
void tg_layer_free(tg_layer *layer);
/* Ties a parameter: `layer`'s parameter `name` becomes the very tensor of
 * `source`'s parameter `source_name` (a language model's output head using
 * its token embedding's weight). From then on one tensor serves both
 * layers: an optimizer updates it once, its gradient is the sum of both
 * uses, a model lists and saves it once (under its first name in layer
 * order). The tensor layer had there is freed, so tie before handing
 * parameters to an optimizer or recording on a tape. `layer` holds `source`
 * (or the layer that owns the tensor, if source's slot is itself tied):
 * that layer lives at least as long as `layer`. Tying a slot to the tensor
 * it already has does nothing. Errors: NULL arguments, a name the layer
 * does not have (TG_ERR_ARGUMENT, listing its names); the two tensors of
 * another dtype (TG_ERR_DTYPE) or shape (TG_ERR_SHAPE); a slot that other
 * layers are tied to (tie them to the source instead), and a tie that would
 * make a layer hold itself, directly or through other ties
 * (TG_ERR_ARGUMENT). Nothing changes on error. */
tg_status tg_layer_tie_param(tg_layer *layer, const char *name, tg_layer *source, const char *source_name);

/* ---- models: a sequence of layers ---- */
typedef struct tg_model tg_model;

tg_model *tg_model_new(void);
/* Appends a layer, which the model then holds (see "Ownership" above): a
 * new layer passes from its creator to the model. A layer may be added
 * again, to this model or another; it is then shared, and freed with the
 * last model (or tied layer) holding it. On error a layer that nothing held
 * is freed; a held one is left as it is. Returns TG_OK. Errors: NULL model
 * or layer, a layer without forward or destroy, n_params outside
 * 0..TG_LAYER_MAX_PARAMS, a parameter or name missing, a parameter on a
 * tape. */
tg_status tg_model_add(tg_model *model, tg_layer *layer);
/* Builds a multilayer perceptron: sizes[0] inputs, then a dense layer to each
 * of sizes[1..n_sizes), each but the last followed by `hidden`; the last is
 * followed by `output` (a tg_activation) unless output < 0 (logits). So dense
 * layers sit at even indices ("0.weight", "2.weight", ...). Weights: He
 * uniform for dense layers followed by a ReLU-family `hidden` (RELU,
 * LEAKY_RELU, SILU, GELU), Glorot uniform otherwise (always for the last).
 * Errors: n_sizes < 2, a size < 1, an unknown activation, NULL rng. */
tg_model *tg_mlp_new(tg_rng *rng, tg_dtype dtype, int n_sizes, const int64_t *sizes, tg_activation hidden,
                     int output);
tg_tensor *tg_model_forward(tg_model *model, tg_tensor *x);
int tg_model_num_layers(const tg_model *model);
tg_layer *tg_model_layer(tg_model *model, int index);
/* Number of parameter tensors, and the i-th with its name "<layer>.<param>",
 * e.g. "0.weight" (the name is written into name_buf). A tensor used in
 * several places (a layer added twice, a tied parameter) is listed once,
 * under its first name in layer order, as PyTorch's parameters() and
 * state_dict() do for shared parameters; the same holds for
 * tg_model_params, tg_model_param_count, tg_model_save and tg_model_load. */
int tg_model_num_params(const tg_model *model);
tg_tensor *tg_model_param(tg_model *model, int index, char *name_buf, size_t name_size);
/* Writes up to max parameter pointers into out, in tg_model_param order;
 * returns the number written (min(max, tg_model_num_params)). */
int tg_model_params(tg_model *model, tg_tensor **out, int max);
/* Total number of scalar parameters. */
int64_t tg_model_param_count(const tg_model *model);
/* Train / eval mode for every layer (layers that behave differently read
 * layer->training). Models start in training mode. */
void tg_model_set_training(tg_model *model, bool training);
/* Saves / loads every parameter under its name (safetensors, checkpoint.h)
 * in PyTorch's layout, so that a file moves between tapegrad and a PyTorch
 * model of the same architecture (nn.Sequential of nn.Linear and activation
 * modules for tg_mlp_new: "0.weight" (out, in), "0.bias" (out)): parameters
 * flagged param_transposed_in_files are written and read transposed. Saving
 * writes the metadata TG_MODEL_LAYOUT_KEY = TG_MODEL_LAYOUT_PYTORCH.
 * Loading reads the layout from the metadata: that key means PyTorch's
 * layout; a file without it but with tapegrad's checksum was written by an
 * earlier tapegrad (dense weights (in, out)) and is read in that layout; a
 * file with neither (another tool, e.g. PyTorch) is read in PyTorch's
 * layout; another value of the key is refused (TG_ERR_FORMAT). Stored
 * dtypes are converted as tg_checkpoint_load_into says (F64 into a float32
 * model rounds). Loading is all or nothing and strict: the file must hold
 * exactly the model's parameter names (one more or one less is another
 * architecture, TG_ERR_ARGUMENT), with the same shapes (TG_ERR_SHAPE, shapes
 * named in the file's layout), all checked before anything is written; plus
 * the errors of tg_checkpoint_open (TG_ERR_IO, TG_ERR_FORMAT). Loaded
 * parameters are changed in place (version + 1 each, tape.h). */
#define TG_MODEL_LAYOUT_KEY "tapegrad.layout"
#define TG_MODEL_LAYOUT_PYTORCH "pytorch"
tg_status tg_model_save(const tg_model *model, const char *path);
tg_status tg_model_load(tg_model *model, const char *path);
/* Frees the model and lets go of its layers: each is freed when nothing
 * else (another model, a tied layer) holds it. NULL is ignored. */
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
