// Package imaging makes the thumbnail variants of a product photograph. It is the only
// package in Vitrine that uses libvips.
//
// # Pipeline
//
// [Processor.Process] decodes an original once and makes every variant from that one
// decode:
//
//  1. The header is read to learn the stored size, the EXIF orientation and the format.
//  2. The original is decoded in one top-to-bottom pass, using shrink-on-load where the
//     format has it (JPEG decodes at 1/2, 1/4 or 1/8 scale, WebP scales while decoding),
//     choosing the smallest decode that is still at least as large as the largest preset.
//  3. That decode is resized (Lanczos3) to the largest preset, converted to 8-bit sRGB
//     through its embedded ICC profile (or, for a HEIF without one, its nclx description
//     when that is Display P3; or libvips' rules) and kept in memory: this small "base"
//     image is the only one held.
//  4. The base is turned upright by its EXIF orientation and loses all its metadata. A HEIF
//     is upright already: libheif applies its irot and imir, and its EXIF orientation is
//     ignored (heif.go).
//  5. The presets are made largest first, each resized (Lanczos3) from the one before it
//     (the largest from the base), computed into memory once and encoded in each format.
//  6. A ≤100×100 render of the smallest preset of at least 100 pixels gives the ThumbHash
//     and the dominant colour.
//
// # Output
//
// Variants never upscale: a preset larger than the original gets the original's size. No
// variant carries EXIF (so no GPS), XMP, IPTC, an orientation tag or an ICC profile: pixels
// are sRGB, which is what browsers assume for an untagged image. Transparency is kept in
// WebP and AVIF and flattened onto white in JPEG. Animated GIF and WebP originals give their
// first frame.
//
// Encoder settings, chosen for photographs seen on screen:
//
//   - WebP: quality 80, lossy, effort 2. Effort 4 (libwebp's default) makes files 2-4%
//     smaller at 0.2-0.3 dB higher PSNR but a job about 40% slower; effort 3 measured no
//     faster than 4 with libwebp 1.2. Effort 2 is what keeps a four-preset set at least 5x
//     faster than a pure-Go pipeline (the target it was chosen for); webpEffort in encode.go changes it.
//   - JPEG: quality 82, progressive, optimised Huffman coding, 4:2:0 chroma.
//   - AVIF: quality 50, effort 1 (= libaom speed 8, fast enough for a background job).
//
// # Placeholders
//
// Result.ThumbHash is Evan Wallace's ThumbHash (https://evanw.github.io/thumbhash/),
// implemented here and checked byte for byte against the reference implementation; a
// browser decodes it into a blurred preview. Result.DominantColor is the most common colour:
// the pixels of a ≤100×100 render that are at least half opaque are put in 512 boxes by the
// top 3 bits of red, green and blue, the fullest box wins (the lowest-numbered on a tie, so
// it is deterministic) and its pixels' mean colour is returned. Both are computed from the
// smallest variant at least 100 pixels on its longer side, so they cost almost nothing.
//
// # libvips
//
// libvips is a process-wide library: [Start] initialises it once, with the concurrency
// and operation cache set explicitly, untrusted loaders blocked and only the JPEG, PNG,
// WebP, HEIF/AVIF, TIFF and GIF loaders allowed, and its log messages sent to log/slog.
// The number of images processed at once is bounded by a semaphore per [Processor].
package imaging
