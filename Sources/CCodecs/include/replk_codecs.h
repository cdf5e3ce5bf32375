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

/// Error text filled on failure; for REPLK_TOO_LARGE also the size the file declares.
typedef struct {
    char message[256];
    unsigned long long width;
    unsigned long long height;
} replk_error;

/// Return codes of the decoders.
enum {
    REPLK_OK = 0,
    /// Not decodable: corrupt, truncated, unsupported or out of memory (see message).
    REPLK_CORRUPT = 1,
    /// The declared width × height is above max_pixels; refused before any pixel buffer is allocated.
    REPLK_TOO_LARGE = 2,
};

/// Decodes a JPEG to RGB (grayscale replicated, CMYK converted). Returns REPLK_OK on success.
/// libjpeg's default error handler calls exit(); this one longjmps back and reports. Images of more
/// than max_pixels pixels are refused after the header (REPLK_TOO_LARGE), and data that ends before
/// the last scan line (end of file, or a marker such as EOI inside the entropy-coded data) is
/// REPLK_CORRUPT as soon as libjpeg notices, instead of an image padded with grey.
int replk_jpeg_decode(const unsigned char *buf, size_t len, unsigned long long max_pixels,
                      replk_image *out, replk_error *err);

/// Decodes a PNG. raw_indices = 0: RGB (alpha dropped, grey replicated, palette expanded, 16-bit
/// reduced to its high byte). raw_indices = 1: one channel of raw sample values: palette indices for
/// palette images, grey values for greyscale; 16-bit samples keep their low byte (numpy's uint8 cast).
/// raw_indices = 2: as 1, but 16-bit samples are returned whole as 2 little-endian bytes each
/// (channels = 2 in the result; Cityscapes instanceIds). Colour label maps are refused.
/// Images of more than max_pixels pixels are refused after IHDR (REPLK_TOO_LARGE).
int replk_png_decode(const unsigned char *buf, size_t len, int raw_indices, unsigned long long max_pixels,
                     replk_image *out, replk_error *err);

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
