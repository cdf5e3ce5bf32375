"""Reference decodes and resizes for the imaging tests, made with Pillow and OpenCV.

    pip install pillow opencv-python-headless numpy
    python make_imaging_fixtures.py
Arrays are saved as .npy (uint8, HWC). The tests never run Python.
"""
import os
import numpy as np
import cv2
from PIL import Image

here = os.path.dirname(os.path.abspath(__file__))
os.chdir(here)
rng = np.random.default_rng(7)

# A smooth-ish random RGB image: resizers differ most on edges, so mix noise and gradients.
h, w = 23, 37
yy, xx = np.mgrid[0:h, 0:w]
base = np.stack([xx * 6, yy * 9, (xx + yy) * 4], -1) % 256
img = np.clip(base + rng.integers(-40, 40, (h, w, 3)), 0, 255).astype(np.uint8)
np.save('src.npy', img)

for (ow, oh) in [(59, 41), (16, 11), (37, 50), (20, 23), (74, 46), (18, 11)]:
    np.save(f'cv2_{ow}x{oh}.npy', cv2.resize(img, (ow, oh), interpolation=cv2.INTER_LINEAR))
for flt, name in [(Image.BICUBIC, 'bicubic'), (Image.BILINEAR, 'bilinear')]:
    for (ow, oh) in [(59, 41), (16, 11), (37, 50), (29, 23)]:
        np.save(f'pil_{name}_{ow}x{oh}.npy', np.asarray(Image.fromarray(img).resize((ow, oh), flt)))

# Codecs: what Pillow decodes from each file (converted to RGB).
photo = np.asarray(Image.open('../../../../shared/data/ade20k-sample/ADEChallengeData2016/images/validation/ADE_val_00000001.jpg').convert('RGB'))[100:164, 200:280]
Image.fromarray(photo).save('photo.jpg', quality=90)
Image.fromarray(photo).convert('L').save('gray.jpg', quality=85)
Image.fromarray(photo).convert('CMYK').save('cmyk.jpg', quality=90)
rgba = np.concatenate([photo[:20, :30], rng.integers(0, 256, (20, 30, 1), dtype=np.uint8)], -1)
Image.fromarray(rgba, 'RGBA').save('rgba.png')
for f in ['photo.jpg', 'gray.jpg', 'cmyk.jpg', 'rgba.png']:
    np.save(f + '.npy', np.asarray(Image.open(f).convert('RGB')))
data = open('photo.jpg', 'rb').read()
open('truncated.jpg', 'wb').write(data[: len(data) // 2])

# Label maps: palette indices (not colours), 16-bit values wrapping to uint8.
lab = rng.integers(0, 151, (9, 13), dtype=np.uint8)
p = Image.fromarray(lab, 'P')
p.putpalette(list(rng.integers(0, 256, 768, dtype=np.uint8)))
p.save('label_palette.png')
Image.fromarray(lab, 'L').save('label_gray.png')
Image.fromarray(lab.astype(np.uint16) + 256 * 3).save('label_16bit.png')
np.save('label.npy', lab)
