/* Second pass over a differing layer pair: collect the bytes of some differing files to
 * explain them (--deep) or show their text (HTML report). */
#pragma once
#include "lockstep/image.h"
#include "lockstep/imgdiff.h"

int capture_layer_pair(struct lks_ctx *ctx, const struct lks_image_src *const src[2],
                       const struct lks_image_layer *const l[2], const struct lks_diff_opts *o,
                       struct lks_layer_diff *ld);
