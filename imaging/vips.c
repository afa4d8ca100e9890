#include "vips.h"
#include "_cgo_export.h"

// ---- Start-up -------------------------------------------------------------

static void vitrine_log_handler(const gchar *domain, GLogLevelFlags level,
                                const gchar *message, gpointer user_data) {
  vitrineLog((char *)domain, (int)level, (char *)message);
}

static void vitrine_log_drop(const gchar *domain, GLogLevelFlags level,
                             const gchar *message, gpointer user_data) {}

// vitrine_route_logging sends libvips' log messages to vitrineLog. libvips traces every
// operation with g_info, so info and debug messages cross into Go only when wanted.
void vitrine_route_logging(int debug) {
  GLogLevelFlags flags = G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION;
  g_log_set_handler("VIPS",
                    G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING |
                        G_LOG_LEVEL_MESSAGE | flags,
                    vitrine_log_handler, NULL);
  g_log_set_handler("VIPS", G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG | flags,
                    debug ? vitrine_log_handler : vitrine_log_drop, NULL);
}

// The loaders a product photograph may come in. Every other loader (ImageMagick, PDF, SVG,
// FITS, Matlab, raw, CSV, matrix, ...) stays blocked: they are large attack surfaces and a
// gallery has no use for them.
static const char *vitrine_allowed_loaders[] = {
    "VipsForeignLoadJpeg", "VipsForeignLoadPng",  "VipsForeignLoadWebp",
    "VipsForeignLoadHeif", "VipsForeignLoadTiff", "VipsForeignLoadNsgif",
    NULL,
};

int vitrine_start(int concurrency, size_t cache_max_mem) {
  if (VIPS_INIT("vitrine"))
    return -1;
  vips_concurrency_set(concurrency);
  vips_cache_set_max_files(0);
  vips_cache_set_max_mem(cache_max_mem);
  vips_cache_set_max(cache_max_mem == 0 ? 0 : 1000);
  vips_block_untrusted_set(TRUE);
  vips_operation_block_set("VipsForeignLoad", TRUE);
  for (int i = 0; vitrine_allowed_loaders[i]; i++)
    vips_operation_block_set(vitrine_allowed_loaders[i], FALSE);
  return 0;
}

// ---- Loading --------------------------------------------------------------

const char *vitrine_find_loader(const void *buf, size_t len, const char *filename) {
  if (filename)
    return vips_foreign_find_load(filename);
  return vips_foreign_find_load_buffer(buf, len);
}

// vitrine_load opens an image for one top-to-bottom pass (sequential access), failing on
// truncation and decoder errors rather than filling with grey. jpeg_shrink > 1 asks libjpeg
// to decode at 1/jpeg_shrink scale; 0 < webp_scale < 1 asks libwebp to scale while decoding.
// Only the header is read here: pixels are decoded when a later step asks for them.
int vitrine_load(const void *buf, size_t len, const char *filename, int jpeg_shrink,
                 double webp_scale, VipsImage **out) {
  const char *loader = vitrine_find_loader(buf, len, filename);
  if (!loader)
    return -1;
  gboolean jpeg = strstr(loader, "Jpeg") != NULL && jpeg_shrink > 1;
  gboolean webp = strstr(loader, "Webp") != NULL && webp_scale > 0 && webp_scale < 1;

#define VITRINE_OPEN(...)                                                             \
  (filename ? vips_image_new_from_file(filename, "access", VIPS_ACCESS_SEQUENTIAL,  \
                                       "fail_on", VIPS_FAIL_ON_ERROR, __VA_ARGS__)   \
            : vips_image_new_from_buffer(buf, len, "", "access", VIPS_ACCESS_SEQUENTIAL, \
                                         "fail_on", VIPS_FAIL_ON_ERROR, __VA_ARGS__))
  if (jpeg)
    *out = VITRINE_OPEN("shrink", jpeg_shrink, NULL);
  else if (webp)
    *out = VITRINE_OPEN("scale", webp_scale, NULL);
  else
    *out = VITRINE_OPEN(NULL);
#undef VITRINE_OPEN
  return *out ? 0 : -1;
}

// ---- Processing steps -----------------------------------------------------

// vitrine_resize scales with kernel, premultiplying alpha around the resize so transparent
// pixels don't bleed dark fringes into the edges.
int vitrine_resize(VipsImage *in, double hscale, double vscale, VipsKernel kernel,
                   VipsImage **out) {
  if (!vips_image_hasalpha(in))
    return vips_resize(in, out, hscale, "vscale", vscale, "kernel", kernel, NULL);

  VipsObject *scope = VIPS_OBJECT(vips_image_new());
  VipsImage **t = (VipsImage **)vips_object_local_array(scope, 3);
  int ret = vips_premultiply(in, &t[0], NULL) ||
            vips_resize(t[0], &t[1], hscale, "vscale", vscale, "kernel", kernel, NULL) ||
            vips_unpremultiply(t[1], &t[2], NULL) ||
            vips_cast(t[2], out, in->BandFmt, NULL);
  g_object_unref(scope);
  return ret ? -1 : 0;
}

// vitrine_to_srgb converts to 8-bit sRGB: through the embedded ICC profile when there is
// one (Display P3, Adobe RGB, CMYK, ...), otherwise by libvips' own colour-space rules
// (greyscale, 16-bit, CMYK without a profile).
int vitrine_to_srgb(VipsImage *in, VipsImage **out) {
  if (vips_image_get_typeof(in, VIPS_META_ICC_NAME) &&
      vips_icc_transform(in, out, "srgb", "embedded", TRUE, "intent",
                         VIPS_INTENT_PERCEPTUAL, "depth", 8, NULL) == 0)
    return 0;
  // No profile, or one lcms rejects: fall back to libvips' colour-space rules.

  VipsObject *scope = VIPS_OBJECT(vips_image_new());
  VipsImage **t = (VipsImage **)vips_object_local_array(scope, 2);
  int ret;
  if (in->Type == VIPS_INTERPRETATION_sRGB && in->BandFmt == VIPS_FORMAT_UCHAR)
    ret = vips_copy(in, out, NULL);
  else
    ret = vips_colourspace(in, &t[0], VIPS_INTERPRETATION_sRGB, NULL) ||
          vips_cast(t[0], out, VIPS_FORMAT_UCHAR, NULL);
  g_object_unref(scope);
  return ret ? -1 : 0;
}

int vitrine_autorot(VipsImage *in, VipsImage **out) {
  return vips_autorot(in, out, NULL);
}

// vitrine_strip returns a copy of in that shares its pixels but carries no metadata at all:
// no EXIF (with its GPS block), XMP, IPTC, ICC profile, orientation or comments.
int vitrine_strip(VipsImage *in, VipsImage **out) {
  if (vips_copy(in, out, NULL))
    return -1;
  gchar **fields = vips_image_get_fields(*out);
  for (int i = 0; fields[i]; i++)
    vips_image_remove(*out, fields[i]);
  g_strfreev(fields);
  return 0;
}

int vitrine_flatten_white(VipsImage *in, VipsImage **out) {
  if (!vips_image_hasalpha(in))
    return vips_copy(in, out, NULL);
  VipsArrayDouble *white = vips_array_double_newv(3, 255.0, 255.0, 255.0);
  int ret = vips_flatten(in, out, "background", white, NULL);
  vips_area_unref(VIPS_AREA(white));
  return ret;
}

// vitrine_rgba turns 8-bit sRGB with or without alpha into 4-band RGBA.
int vitrine_rgba(VipsImage *in, VipsImage **out) {
  if (in->Bands == 4)
    return vips_copy(in, out, NULL);
  if (in->Bands == 3)
    return vips_bandjoin_const1(in, out, 255.0, NULL);
  vips_error("vitrine", "expected 3 or 4 bands, got %d", in->Bands);
  return -1;
}

// ---- Encoding ---------------------------------------------------------------

int vitrine_webpsave(VipsImage *in, int q, int effort, void **buf, size_t *len) {
  return vips_webpsave_buffer(in, buf, len, "Q", q, "effort", effort, "strip", TRUE, NULL);
}

int vitrine_jpegsave(VipsImage *in, int q, void **buf, size_t *len) {
  return vips_jpegsave_buffer(in, buf, len, "Q", q, "optimize_coding", TRUE, "interlace", TRUE,
                              "strip", TRUE, NULL);
}

int vitrine_avifsave(VipsImage *in, int q, int effort, void **buf, size_t *len) {
  return vips_heifsave_buffer(in, buf, len, "compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1,
                              "Q", q, "effort", effort, "strip", TRUE, NULL);
}

// ---- Benchmark baseline -----------------------------------------------------

int vitrine_thumbnail_buffer(const void *buf, size_t len, int size, VipsImage **out) {
  return vips_thumbnail_buffer((void *)buf, len, out, size, "height", size, "size",
                               VIPS_SIZE_DOWN, NULL);
}

void vitrine_unref(VipsImage *im) {
  if (im)
    g_object_unref(im);
}
