#ifndef REPLK_CODECS_H
#define REPLK_CODECS_H
#include <stddef.h>

/// A decoded 8-bit image. `data` is malloc'd, row-major, `channels` bytes per pixel.
typedef struct {
    unsigned char *data;
    int width;
    int height;
    int channels;
} replk_image;

/// Error text filled on failure.
typedef struct {
    char message[256];
} replk_error;

/// Decodes a JPEG to RGB (grayscale replicated, CMYK converted). Returns 0 on success.
/// libjpeg's default error handler calls exit(); this one longjmps back and reports.
int replk_jpeg_decode(const unsigned char *buf, size_t len, replk_image *out, replk_error *err);

/// Decodes a PNG. raw_indices = 0: RGB (alpha dropped, grey replicated, palette expanded, 16-bit
/// reduced to its high byte). raw_indices = 1: one channel of raw sample values: palette indices for
/// palette images, grey values for greyscale; 16-bit samples keep their low byte (numpy's uint8 cast).
/// raw_indices = 2: as 1, but 16-bit samples are returned whole as 2 little-endian bytes each
/// (channels = 2 in the result; Cityscapes instanceIds). Colour label maps are refused.
int replk_png_decode(const unsigned char *buf, size_t len, int raw_indices, replk_image *out, replk_error *err);

/// Encodes 8-bit RGB (channels 3) or grey (channels 1) pixels as a baseline JPEG.
int replk_jpeg_encode(const unsigned char *pixels, int width, int height, int channels, int quality,
                      unsigned char **out, size_t *out_len, replk_error *err);

/// Encodes 8-bit grey (1), RGB (3) or RGBA (4) pixels as PNG. If palette != NULL and channels == 1,
/// writes a palette image with `palette_entries` RGB triples.
int replk_png_encode(const unsigned char *pixels, int width, int height, int channels,
                     const unsigned char *palette, int palette_entries,
                     unsigned char **out, size_t *out_len, replk_error *err);

void replk_free(void *p);

#endif
