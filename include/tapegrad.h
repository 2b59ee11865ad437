/* tapegrad.h — reverse-mode automatic differentiation in C11.
 *
 * Include this one header. The pieces, in the order data flows through them:
 *   tapegrad/error.h      the error mechanism (abort by default, or return)
 *   tapegrad/tensor.h     n-d tensors: creation, access, printing
 *   tapegrad/random.h     seeded reproducible random numbers
 *   tapegrad/tape.h       the tape, backward, grad mode, anomaly mode
 *   tapegrad/op.h         op records (for user-defined ops)
 *   tapegrad/ops.h        the differentiable ops
 *   tapegrad/norm.h       layer, batch and group norm; dropout
 *   tapegrad/gradcheck.h  finite-difference gradient verification
 *   tapegrad/nn.h         layers, activations, losses, models
 *   tapegrad/optim.h      optimizers
 *   tapegrad/threads.h    the thread count of parallel kernels
 *   tapegrad/data.h       data files, data sets, batches
 *   tapegrad/checkpoint.h saving and loading tensors (safetensors)
 *   tapegrad/version.h    the version (TG_VERSION_*, tg_version)
 */
#ifndef TAPEGRAD_H
#define TAPEGRAD_H

#include "tapegrad/error.h"
#include "tapegrad/tensor.h"
#include "tapegrad/random.h"
#include "tapegrad/tape.h"
#include "tapegrad/op.h"
#include "tapegrad/ops.h"
#include "tapegrad/conv.h"
#include "tapegrad/norm.h"
#include "tapegrad/index.h"
#include "tapegrad/gradcheck.h"
#include "tapegrad/autodiff.h"
#include "tapegrad/graph.h"
#include "tapegrad/progress.h"
#include "tapegrad/summary.h"
#include "tapegrad/nn.h"
#include "tapegrad/optim.h"
#include "tapegrad/threads.h"
#include "tapegrad/kernels.h"
#include "tapegrad/data.h"
#include "tapegrad/checkpoint.h"
#include "tapegrad/version.h"

#endif
