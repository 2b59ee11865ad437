/* ops/op_list.h — the table of built-in ops: one line each.
 *
 * TG_OP(name) names a record `tg_op_<name>` defined in one file of ops/ (its
 * forward kernel and backward rule side by side). This list is the single
 * place that makes an op known: op_table.c builds the lookup table from it,
 * and the gradcheck test refuses an op here without a test case.
 * Differentiable ops first, then those with no backward (masks). */
TG_OP(add)          /* a + b, broadcasting                 elementwise.c */
TG_OP(sub)          /* a - b                               elementwise.c */
TG_OP(mul)          /* a * b                               elementwise.c */
TG_OP(div)          /* a / b                               elementwise.c */
TG_OP(add_scalar)   /* x + c                               unary.c       */
TG_OP(mul_scalar)   /* x * c                               unary.c       */
TG_OP(pow)          /* x ^ p                               unary.c       */
TG_OP(neg)          /* -x                                  unary.c       */
TG_OP(exp)          /* e^x                                 unary.c       */
TG_OP(log)          /* ln x                                unary.c       */
TG_OP(sqrt)         /* sqrt x                              unary.c       */
TG_OP(abs)          /* |x|                                 unary.c       */
TG_OP(tanh)         /* tanh x                              unary.c       */
TG_OP(relu)         /* max(0, x)                           unary.c       */
TG_OP(sigmoid)      /* 1 / (1 + e^-x)                      unary.c       */
TG_OP(clamp)        /* min(max(x, lo), hi)                 unary.c       */
TG_OP(sum)          /* sum over axes (all by default)      reduce.c      */
TG_OP(mean)         /* mean over axes                      reduce.c      */
TG_OP(max)          /* max over axes, gradient to arg-max  reduce.c      */
TG_OP(expand)       /* broadcast to a shape                broadcast.c   */
TG_OP(sum_to)       /* sum down to a shape                 broadcast.c   */
TG_OP(reshape)      /* same data, new shape                shape.c       */
TG_OP(permute)      /* reorder axes (transpose)            shape.c       */
TG_OP(slice)        /* [start, stop) along an axis         shape.c       */
TG_OP(pad)          /* zeros before/after along an axis    shape.c       */
TG_OP(concat)       /* join along an axis                  shape.c       */
TG_OP(to_dtype)     /* float32 <-> float64                 shape.c       */
TG_OP(matmul)       /* (batched) matrix product            matmul.c      */
TG_OP(softmax)      /* e^x / sum e^x along an axis         softmax.c     */
TG_OP(log_softmax)  /* x - log sum e^x along an axis       softmax.c     */
TG_OP(relu_grad)    /* g where x > 0 (relu's backward)     activation_grads.c */
TG_OP(sigmoid_grad) /* g y (1 - y) (sigmoid's backward)    activation_grads.c */
TG_OP(tanh_grad)    /* g (1 - y^2) (tanh's backward)       activation_grads.c */
TG_OP(softmax_grad) /* y (g - S(g y)) (softmax's backward) softmax_grads.c */
TG_OP(log_softmax_grad) /* g - e^y S(g) (its backward)     softmax_grads.c */
TG_OP(im2col)       /* receptive fields as columns       conv.c        */
TG_OP(col2im)       /* columns summed back to an image     conv.c        */
TG_OP(max_pool2d)   /* v at each window's arg-max of x     pool.c        */
TG_OP(max_pool2d_grad) /* g added at the arg-maxes of x    pool.c        */
TG_OP(avg_pool2d)   /* window means (fixed or adaptive)    pool.c        */
TG_OP(avg_pool2d_grad) /* g / size spread over each window pool.c        */
TG_OP(where)        /* mask != 0 ? a : b, broadcasting     where.c       */
TG_OP(normalize)    /* (x - mean) / sqrt(var + eps) per group  norm.c */
TG_OP(normalize_grad) /* normalize's backward                  norm.c */
TG_OP(dropout)      /* x / (1 - p) where kept (Philox mask)    dropout.c */
TG_OP(index_select) /* rows of x at idx along an axis      index.c       */
TG_OP(index_add)    /* x + src's rows added at idx         index.c       */
TG_OP(gather)       /* torch.gather along an axis          index.c       */
TG_OP(scatter_add)  /* x + src added at idx (torch)        index.c       */
TG_OP(embedding)    /* rows of a (num, dim) table at idx   index.c       */
TG_OP(masked_fill)  /* value where mask != 0, else x       compare.c     */
TG_OP(attention)    /* softmax(scale q k^T + mask) v, fused attention.c */
TG_OP(erf)          /* error function (exact GELU)         erf.c         */
TG_OP(gt_scalar)    /* 1 where x > c (no gradient)         masks.c       */
TG_OP(lt_scalar)    /* 1 where x < c (no gradient)         masks.c       */
TG_OP(sign)         /* -1, 0, 1 (no gradient)              masks.c       */
TG_OP(argmax_mask)  /* 1 at the first max (no gradient)    masks.c       */
TG_OP(argmax)       /* index of the first max, int64       masks.c       */
TG_OP(eq)           /* 1 where a == b (no gradient)        compare.c     */
TG_OP(ne)           /* 1 where a != b (no gradient)        compare.c     */
TG_OP(lt)           /* 1 where a < b (no gradient)         compare.c     */
TG_OP(le)           /* 1 where a <= b (no gradient)        compare.c     */
TG_OP(gt)           /* 1 where a > b (no gradient)         compare.c     */
TG_OP(ge)           /* 1 where a >= b (no gradient)        compare.c     */
