#include "replk_codecs.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

void replk_free(void *p) { free(p); }

static void set_err(replk_error *err, const char *msg) {
    if (!err) return;
    snprintf(err->message, sizeof(err->message), "%s", msg);
}

/* ---------------- JPEG ---------------- */

struct jerr_mgr {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    /* Set while scan lines are still owed: running out of data then is an error. */
    int need_data;
};

static void jerr_exit(j_common_ptr cinfo) {
    struct jerr_mgr *m = (struct jerr_mgr *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, m->message);
    longjmp(m->jump, 1);
}

static void jerr_silent(j_common_ptr cinfo) { (void)cinfo; }

/* Warnings are ignored (as Pillow and OpenCV do) except the data ending before the last scan line:
   libjpeg would pad the image with grey, Pillow refuses a truncated file, and so do we. libjpeg says
   so with JWRN_JPEG_EOF when the buffer runs out (the memory source then inserts a fake EOI) and with
   JWRN_HIT_MARKER when the entropy-coded data stops at a marker (an EOI, say) while pixels are still
   owed. Stopping at the first such warning also keeps a tiny file that declares a huge image from
   costing a full decode of grey. */
static void jerr_emit(j_common_ptr cinfo, int level) {
    struct jerr_mgr *m = (struct jerr_mgr *)cinfo->err;
    int code = cinfo->err->msg_code;
    if (level == -1 && m->need_data && (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER)) {
        if (code == JWRN_JPEG_EOF)
            snprintf(m->message, sizeof(m->message), "image file is truncated (premature end of JPEG data)");
        else
            snprintf(m->message, sizeof(m->message), "image data ends before its last scan line (premature end of JPEG data segment)");
        longjmp(m->jump, 1);
    }
}

static void set_too_large(replk_error *err, unsigned long long w, unsigned long long h, unsigned long long max_pixels) {
    if (!err) return;
    snprintf(err->message, sizeof(err->message), "image size %llux%llu is %llu pixels, above the limit of %llu",
             w, h, w * h, max_pixels);
    err->width = w;
    err->height = h;
}

int replk_jpeg_decode(const unsigned char *buf, size_t len, unsigned long long max_pixels,
                      replk_image *out, replk_error *err) {
    struct jpeg_decompress_struct cinfo;
    struct jerr_mgr jerr;
    unsigned char *volatile pixels = NULL;
    unsigned char *volatile row = NULL;
    memset(out, 0, sizeof(*out));
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = jerr_exit;
    jerr.pub.output_message = jerr_silent;
    jerr.pub.emit_message = jerr_emit;
    jerr.message[0] = 0;
    jerr.need_data = 1;
    if (setjmp(jerr.jump)) {
        set_err(err, jerr.message[0] ? jerr.message : "corrupt JPEG data");
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(row);
        return REPLK_CORRUPT;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, buf, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    /* Pillow's decompression-bomb check, on the size the frame header declares, before
       jpeg_start_decompress allocates anything that grows with it (a progressive file's
       coefficients) and before the pixel buffer. */
    unsigned long long dw = cinfo.image_width, dh = cinfo.image_height;
    if ((dw ? dw : 1) * (dh ? dh : 1) > max_pixels) {
        set_too_large(err, dw, dh, max_pixels);
        jpeg_destroy_decompress(&cinfo);
        return REPLK_TOO_LARGE;
    }
    int cmyk = (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK);
    int inverted = cmyk && cinfo.saw_Adobe_marker;
    if (cmyk) cinfo.out_color_space = JCS_CMYK;
    else if (cinfo.num_components == 1) cinfo.out_color_space = JCS_GRAYSCALE;
    else cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height, nc = cinfo.output_components;
    if (w <= 0 || h <= 0 || (unsigned long long)w * (unsigned long long)h > max_pixels || (nc != 1 && nc != 3 && nc != 4)) {
        set_err(err, "JPEG has an unsupported size or colour layout");
        jpeg_destroy_decompress(&cinfo);
        return REPLK_CORRUPT;
    }
    pixels = (unsigned char *)malloc((size_t)w * h * 3);
    row = (unsigned char *)malloc((size_t)w * nc);
    if (!pixels || !row) {
        set_err(err, "out of memory decoding JPEG");
        jpeg_destroy_decompress(&cinfo);
        free(pixels); free(row);
        return REPLK_CORRUPT;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW rows[1] = { row };
        int y = (int)cinfo.output_scanline;
        if (jpeg_read_scanlines(&cinfo, rows, 1) != 1) longjmp(jerr.jump, 1);
        unsigned char *dst = pixels + (size_t)y * w * 3;
        if (nc == 3) {
            memcpy(dst, row, (size_t)w * 3);
        } else if (nc == 1) {
            for (int x = 0; x < w; x++) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = row[x];
        } else {
            for (int x = 0; x < w; x++) {
                int c = row[4 * x], m = row[4 * x + 1], yy = row[4 * x + 2], k = row[4 * x + 3];
                if (inverted) { c = 255 - c; m = 255 - m; yy = 255 - yy; k = 255 - k; }
                /* Pillow's cmyk2rgb: MULDIV255(255 - c, 255 - k) per channel. */
                int t;
                t = (255 - c) * (255 - k) + 128; dst[3 * x] = (unsigned char)((t + (t >> 8)) >> 8);
                t = (255 - m) * (255 - k) + 128; dst[3 * x + 1] = (unsigned char)((t + (t >> 8)) >> 8);
                t = (255 - yy) * (255 - k) + 128; dst[3 * x + 2] = (unsigned char)((t + (t >> 8)) >> 8);
            }
        }
    }
    /* Every pixel is decoded: a missing EOI after the last scan line is tolerated, as Pillow does. */
    jerr.need_data = 0;
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    out->data = pixels;
    out->width = w;
    out->height = h;
    out->channels = 3;
    return REPLK_OK;
}

struct jpeg_mem_dest_state { unsigned char *buf; unsigned long len; };

int replk_jpeg_encode(const unsigned char *pixels, int width, int height, int channels, int quality,
                      unsigned char **out, size_t *out_len, replk_error *err) {
    struct jpeg_compress_struct cinfo;
    struct jerr_mgr jerr;
    unsigned char *volatile mem = NULL;
    unsigned long mem_len = 0;
    *out = NULL; *out_len = 0;
    if (channels != 1 && channels != 3) { set_err(err, "JPEG encoding needs 1 or 3 channels"); return 1; }
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = jerr_exit;
    jerr.pub.output_message = jerr_silent;
    if (setjmp(jerr.jump)) {
        set_err(err, jerr.message[0] ? jerr.message : "JPEG encoding failed");
        jpeg_destroy_compress(&cinfo);
        free(mem);
        return 1;
    }
    jpeg_create_compress(&cinfo);
    unsigned char *m = NULL;
    jpeg_mem_dest(&cinfo, &m, &mem_len);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW rows[1] = { (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * width * channels) };
        jpeg_write_scanlines(&cinfo, rows, 1);
    }
    jpeg_finish_compress(&cinfo);
    mem = m;
    jpeg_destroy_compress(&cinfo);
    *out = mem;
    *out_len = mem_len;
    return 0;
}

/* ---------------- PNG ---------------- */

struct png_src { const unsigned char *buf; size_t len; size_t pos; };

struct png_err_state { jmp_buf jump; char message[200]; volatile int too_large; };

static void png_read_cb(png_structp png, png_bytep dst, png_size_t n) {
    struct png_src *s = (struct png_src *)png_get_io_ptr(png);
    if (n > s->len - s->pos) png_error(png, "truncated PNG data");
    memcpy(dst, s->buf + s->pos, n);
    s->pos += n;
}

static void png_error_cb(png_structp png, png_const_charp msg) {
    struct png_err_state *st = (struct png_err_state *)png_get_error_ptr(png);
    snprintf(st->message, sizeof(st->message), "%s", msg);
    longjmp(st->jump, 1);
}

static void png_warn_cb(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

int replk_png_decode(const unsigned char *buf, size_t len, int raw_indices, unsigned long long max_pixels,
                     replk_image *out, replk_error *err) {
    memset(out, 0, sizeof(*out));
    if (len < 8 || png_sig_cmp(buf, 0, 8) != 0) { set_err(err, "not a PNG file"); return REPLK_CORRUPT; }
    struct png_err_state st;
    st.message[0] = 0;
    st.too_large = 0;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st, png_error_cb, png_warn_cb);
    if (!png) { set_err(err, "cannot create PNG reader"); return REPLK_CORRUPT; }
    png_infop info = png_create_info_struct(png);
    unsigned char *volatile pixels = NULL;
    struct png_src src = { buf, len, 0 };
    if (setjmp(st.jump)) {
        if (!st.too_large) set_err(err, st.message[0] ? st.message : "corrupt PNG data");
        png_destroy_read_struct(&png, &info, NULL);
        free(pixels);
        return st.too_large ? REPLK_TOO_LARGE : REPLK_CORRUPT;
    }
    png_set_read_fn(png, &src, png_read_cb);
    png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int depth = png_get_bit_depth(png, info), ctype = png_get_color_type(png, info);
    if (w == 0 || h == 0) png_error(png, "PNG has an empty size");
    /* Pillow's decompression-bomb check on the size IHDR declares, before any pixel memory. */
    if ((unsigned long long)w * (unsigned long long)h > max_pixels) {
        set_too_large(err, w, h, max_pixels);
        st.too_large = 1;
        png_error(png, "too large");
    }
    int outc;
    if (raw_indices) {
        if (ctype != PNG_COLOR_TYPE_GRAY && ctype != PNG_COLOR_TYPE_PALETTE)
            png_error(png, "label map must be a single-channel PNG (greyscale or palette), found a colour image");
        if (depth < 8) png_set_packing(png);
        if (depth == 16) png_set_swap(png); /* little-endian samples: low byte first */
        outc = (raw_indices == 2 && depth == 16) ? 2 : 1;
    } else {
        if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
        if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
        if (depth == 16) png_set_strip_16(png);
        /* A palette's tRNS chunk becomes an alpha channel on expansion; dropped like any alpha. */
        if ((ctype & PNG_COLOR_MASK_ALPHA) || (ctype == PNG_COLOR_TYPE_PALETTE && png_get_valid(png, info, PNG_INFO_tRNS)))
            png_set_strip_alpha(png);
        if (ctype == PNG_COLOR_TYPE_GRAY || ctype == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
        outc = 3;
    }
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    int sample_bytes = (raw_indices && depth == 16) ? 2 : 1;
    if (rowbytes != (size_t)w * (raw_indices ? 1 : outc) * sample_bytes) png_error(png, "unexpected PNG row layout");
    /* Rows are read straight into the result (row by row and pass by pass, so no row-pointer
       table either); only 16-bit label maps read as 8 bits are narrowed afterwards, in place. */
    pixels = (unsigned char *)malloc(rowbytes * h);
    if (!pixels) png_error(png, "out of memory decoding PNG");
    for (int pass = 0; pass < passes; pass++)
        for (png_uint_32 y = 0; y < h; y++) png_read_row(png, pixels + (size_t)y * rowbytes, NULL);
    png_read_end(png, NULL);
    if (sample_bytes == 2 && outc == 1) {
        size_t n = (size_t)w * h;
        for (size_t i = 0; i < n; i++) pixels[i] = pixels[2 * i];
        unsigned char *shrunk = (unsigned char *)realloc(pixels, n);
        if (shrunk) pixels = shrunk;
    }
    png_destroy_read_struct(&png, &info, NULL);
    out->data = pixels;
    out->width = (int)w;
    out->height = (int)h;
    out->channels = outc;
    return REPLK_OK;
}

struct png_dst { unsigned char *buf; size_t len, cap; int oom; };

static void png_write_cb(png_structp png, png_bytep data, png_size_t n) {
    struct png_dst *d = (struct png_dst *)png_get_io_ptr(png);
    if (d->len + n > d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 65536;
        while (cap < d->len + n) cap *= 2;
        unsigned char *nb = (unsigned char *)realloc(d->buf, cap);
        if (!nb) png_error(png, "out of memory encoding PNG");
        d->buf = nb; d->cap = cap;
    }
    memcpy(d->buf + d->len, data, n);
    d->len += n;
}

static void png_flush_cb(png_structp png) { (void)png; }

int replk_png_encode(const unsigned char *pixels, int width, int height, int channels,
                     const unsigned char *palette, int palette_entries,
                     unsigned char **out, size_t *out_len, replk_error *err) {
    *out = NULL; *out_len = 0;
    int ctype;
    if (channels == 1) ctype = palette ? PNG_COLOR_TYPE_PALETTE : PNG_COLOR_TYPE_GRAY;
    else if (channels == 3) ctype = PNG_COLOR_TYPE_RGB;
    else if (channels == 4) ctype = PNG_COLOR_TYPE_RGB_ALPHA;
    else { set_err(err, "PNG encoding needs 1, 3 or 4 channels"); return 1; }
    struct png_err_state st;
    st.message[0] = 0;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &st, png_error_cb, png_warn_cb);
    if (!png) { set_err(err, "cannot create PNG writer"); return 1; }
    png_infop info = png_create_info_struct(png);
    struct png_dst dst = { NULL, 0, 0, 0 };
    if (setjmp(st.jump)) {
        set_err(err, st.message[0] ? st.message : "PNG encoding failed");
        png_destroy_write_struct(&png, &info);
        free(dst.buf);
        return 1;
    }
    png_set_write_fn(png, &dst, png_write_cb, png_flush_cb);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, ctype, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (ctype == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[256];
        int n = palette_entries > 256 ? 256 : palette_entries;
        for (int i = 0; i < n; i++) { pal[i].red = palette[3 * i]; pal[i].green = palette[3 * i + 1]; pal[i].blue = palette[3 * i + 2]; }
        png_set_PLTE(png, info, pal, n);
    }
    png_write_info(png, info);
    for (int y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(pixels + (size_t)y * width * channels));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    *out = dst.buf;
    *out_len = dst.len;
    return 0;
}
