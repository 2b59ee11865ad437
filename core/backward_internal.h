/* core/backward_internal.h — what a built-in backward rule may ask of the
 * backward pass running it (internal; not installed). */
#ifndef TAPEGRAD_CORE_BACKWARD_INTERNAL_H
#define TAPEGRAD_CORE_BACKWARD_INTERNAL_H

#include "tapegrad/op.h"

/* The gradient buffer of input `input` of `node` when the rule may add that
 * input's gradient into it directly and leave grad_inputs[input] NULL; else
 * NULL, and the rule returns its gradient as usual. With *overwrite set the
 * buffer holds no gradient yet (it was set to none, or never made): the rule
 * writes every element instead of adding (a GEMM with beta = 0).
 *
 * It is offered only by tg_backward (not tg_gradients), only when the pass is
 * not recorded (create_graph off: the rule's ops are then plain kernels, not
 * nodes a second derivative would need) and anomaly mode is off (which checks
 * each gradient before it is summed), and only for a persistent leaf that
 * requires a gradient; its .grad is made (or its spare storage reused) if it
 * had none. The point is speed: a matmul's weight gradient summed by the GEMM
 * itself (beta = 1) is never written to the tape and added afterwards. */
tg_tensor *tgi_backward_accumulator(const tg_node *node, int input, bool *overwrite);

#endif
