/* Writes a small progressive and a small arithmetic-free restart-marker JPEG (libjpeg), as extra
 * seeds for fuzz-jpeg: the fixtures are baseline only. Built and run by make_corpus.py. */
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>

static void write(const char *path, int progressive, int restart, int gray) {
    struct jpeg_compress_struct c; struct jpeg_error_mgr e;
    FILE *f = fopen(path, "wb"); if (!f) exit(1);
    c.err = jpeg_std_error(&e); jpeg_create_compress(&c); jpeg_stdio_dest(&c, f);
    c.image_width = 24; c.image_height = 17; c.input_components = gray ? 1 : 3;
    c.in_color_space = gray ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c); jpeg_set_quality(&c, 60, TRUE);
    if (progressive) jpeg_simple_progression(&c);
    if (restart) c.restart_in_rows = 1;
    jpeg_start_compress(&c, TRUE);
    unsigned char row[24 * 3];
    while (c.next_scanline < c.image_height) {
        for (int x = 0; x < 24 * 3; x++) row[x] = (unsigned char)(x * 7 + c.next_scanline * 13);
        JSAMPROW r = row; jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c); jpeg_destroy_compress(&c); fclose(f);
}

int main(int argc, char **argv) {
    if (argc != 4) return 2;
    write(argv[1], 1, 0, 0);
    write(argv[2], 0, 1, 0);
    write(argv[3], 1, 0, 1);
    return 0;
}
