#include "vips.h"
#include <libheif/heif.h>

// vitrine_heif_nclx reads the nclx colour description of a HEIF's primary image, which
// libvips 8.14's heifload ignores: 0 with *primaries and *transfer set (ITU-T H.273 code
// points) when it has one, -1 when it has none or the file cannot be read (the loader
// itself reports that). Only the file's boxes are read, no image data.
int vitrine_heif_nclx(const void *buf, size_t len, const char *filename, int *primaries,
                      int *transfer) {
  struct heif_context *ctx = heif_context_alloc();
  if (!ctx)
    return -1;
  struct heif_error err = filename
                              ? heif_context_read_from_file(ctx, filename, NULL)
                              : heif_context_read_from_memory_without_copy(ctx, buf, len, NULL);
  int ret = -1;
  struct heif_image_handle *h = NULL;
  if (err.code == heif_error_Ok &&
      heif_context_get_primary_image_handle(ctx, &h).code == heif_error_Ok &&
      heif_image_handle_get_color_profile_type(h) == heif_color_profile_type_nclx) {
    struct heif_color_profile_nclx *nclx = NULL;
    if (heif_image_handle_get_nclx_color_profile(h, &nclx).code == heif_error_Ok) {
      *primaries = nclx->color_primaries;
      *transfer = nclx->transfer_characteristics;
      heif_nclx_color_profile_free(nclx);
      ret = 0;
    }
  }
  if (h)
    heif_image_handle_release(h);
  heif_context_free(ctx);
  return ret;
}

// vitrine_p3_to_srgb converts an image in Display P3 without a profile to 8-bit sRGB
// through libvips' built-in P3 profile.
int vitrine_p3_to_srgb(VipsImage *in, VipsImage **out) {
  return vips_icc_transform(in, out, "srgb", "input_profile", "p3", "embedded", FALSE, "intent",
                            VIPS_INTENT_PERCEPTUAL, "depth", 8, NULL);
}
