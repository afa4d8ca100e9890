// Thin C wrappers around the variadic libvips calls Vitrine uses: cgo cannot
// call variadic C functions, and keeping every option here makes the options
// each step passes visible in one place.

#include <stdlib.h>
#include <vips/vips.h>

// Start-up.
int vitrine_start(int concurrency, size_t cache_max_mem);
void vitrine_route_logging(int debug);

// Loading.
const char *vitrine_find_loader(const void *buf, size_t len, const char *filename);
int vitrine_load(const void *buf, size_t len, const char *filename,
                 int jpeg_shrink, double webp_scale, VipsImage **out);
int vitrine_heif_nclx(const void *buf, size_t len, const char *filename, int *primaries,
                      int *transfer);

// Processing steps.
int vitrine_resize(VipsImage *in, double hscale, double vscale, VipsKernel kernel,
                   VipsImage **out);
int vitrine_to_srgb(VipsImage *in, VipsImage **out);
int vitrine_p3_to_srgb(VipsImage *in, VipsImage **out);
int vitrine_autorot(VipsImage *in, VipsImage **out);
int vitrine_strip(VipsImage *in, VipsImage **out);
int vitrine_flatten_white(VipsImage *in, VipsImage **out);
int vitrine_rgba(VipsImage *in, VipsImage **out);

// Encoding. The returned buffer is g_malloc'd and must be g_free'd.
int vitrine_webpsave(VipsImage *in, int q, int effort, void **buf, size_t *len);
int vitrine_jpegsave(VipsImage *in, int q, void **buf, size_t *len);
int vitrine_avifsave(VipsImage *in, int q, int effort, void **buf, size_t *len);

// vips_thumbnail_buffer, for the benchmark that compares against calling it per preset.
int vitrine_thumbnail_buffer(const void *buf, size_t len, int size, VipsImage **out);

void vitrine_unref(VipsImage *im);
