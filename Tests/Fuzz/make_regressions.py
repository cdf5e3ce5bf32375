#!/usr/bin/env python3
"""Writes the hand-made hostile inputs of Tests/Fixtures/fuzz-regressions/<target>/refused-* (and accepted-*): each a
small mutation of a seed aimed at one of the checks issue 25 added (sizes past the file, products
and sums that overflow, nesting, decompression bombs, NaN and huge numbers, journal lines of the
wrong shape). The replay tests (FuzzRegressionTests in WeightsTests, EvalTests, ImagingTests and
ToolTests) expect each refused-* file to be refused with a one-line error naming the file, and each
accepted-* file to be read without one; run.sh replays them all through the fuzz targets first. Inputs the fuzzers found crashing are copied there as they are
(crash-*, leak-*, timeout-*, oom-*). Run from anywhere: python3 Tests/Fuzz/make_regressions.py."""
import io, json, os, pickletools, struct, zipfile, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
OUT = os.path.join(ROOT, 'Tests', 'Fixtures', 'fuzz-regressions')
FIX = os.path.join(ROOT, 'Tests', 'Fixtures')
FORMS = os.path.join(FIX, 'checkpoint-forms')


def read(*p):
    with open(os.path.join(*p), 'rb') as f:
        return f.read()


def put(target, name, data, expect='refused'):
    """expect: 'refused' (the replay tests want a one-line error naming the file) or 'accepted'
    (read and evaluated without an error: what pycocotools or Python would do with it too)."""
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, expect + '-' + name), 'wb') as f:
        f.write(data)


def torch_zip(entries):
    """A torch.save-style ZIP (STORED entries under one folder)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_STORED) as z:
        for n, d in entries:
            z.writestr('archive/' + n, d)
    return buf.getvalue()


def pth():
    plain = bytearray(read(FORMS, 'plain.pth'))
    # The central directory claims a 4 GB data.pkl (BinaryFile.bytes zero-filled it before the range check).
    cd = plain.index(b'PK\x01\x02')
    struct.pack_into('<II', plain, cd + 20, 0xFFFFFFF0, 0xFFFFFFF0)
    put('fuzz-pth', 'data-pkl-claims-4GB.pth', bytes(plain))
    # Containers nested 5000 deep: EMPTY_LIST ×5000 then APPEND ×4999 (a stack overflow when freed).
    nested = b'\x80\x02' + b']' * 5000 + b'a' * 4999 + b'.'
    put('fuzz-pth', 'nested-5000-lists.pth', torch_zip([('data.pkl', nested), ('version', b'3\n')]))
    put('fuzz-pth', 'nested-5000-lists.pkl', nested)
    # Deeply nested dicts and tuples through MARK ... TUPLE.
    put('fuzz-pth', 'nested-5000-tuples.pkl', b'\x80\x02' + b'(' * 5000 + b't' * 5000 + b'.')
    # End-of-central-directory record pointing past the file, with 65535 entries.
    eocd = plain.rindex(b'PK\x05\x06')
    bad = bytearray(plain)
    struct.pack_into('<HHII', bad, eocd + 8, 0xFFFF, 0xFFFF, 0x7FFFFFFF, 0x7FFFFFF0)
    put('fuzz-pth', 'central-directory-past-the-end.pth', bytes(bad))
    # A tensor storage key the archive does not hold (the pickle's 'data/0' renamed to 'data/9'... then cut).
    put('fuzz-pth', 'cut-in-the-middle.pth', bytes(plain[:len(plain) // 2]))


def legacy():
    data = bytearray(read(FORMS, 'legacy.pth'))
    pos = 0
    for _ in range(5):
        pos += list(pickletools.genops(bytes(data[pos:])))[-1][2] + 1
    # The first storage's element count: 2^62 (numel × item size overflowed).
    bad = bytearray(data)
    struct.pack_into('<Q', bad, pos, 1 << 62)
    put('fuzz-legacy-pth', 'storage-numel-2e62.pth', bytes(bad))
    bad = bytearray(data)
    struct.pack_into('<Q', bad, pos, 0xFFFFFFFFFFFFFFFF)
    put('fuzz-legacy-pth', 'storage-numel-uint64-max.pth', bytes(bad))
    put('fuzz-legacy-pth', 'cut-after-the-pickles.pth', bytes(data[:pos + 4]))


def safetensors():
    t = read(FORMS, 'tiny.safetensors')
    n = struct.unpack('<Q', t[:8])[0]
    header, body = json.loads(t[8:8 + n]), t[8 + n:]

    def build(h, body=body, claimed=None):
        j = json.dumps(h).encode()
        return struct.pack('<Q', claimed if claimed is not None else len(j)) + j + body
    put('fuzz-safetensors', 'header-length-2e63.safetensors', struct.pack('<Q', 1 << 63) + t[8:])
    h = json.loads(json.dumps(header))
    k = [k for k in h if k != '__metadata__']
    h[k[1]]['data_offsets'] = h[k[0]]['data_offsets']   # two tensors on the same bytes
    put('fuzz-safetensors', 'overlapping-data-offsets.safetensors', build(h))
    h = json.loads(json.dumps(header))
    h[k[0]]['shape'] = [1 << 40, 1 << 40]
    put('fuzz-safetensors', 'shape-product-overflows.safetensors', build(h))
    h = json.loads(json.dumps(header))
    h[k[0]]['data_offsets'] = [0, 1 << 62]
    put('fuzz-safetensors', 'data-offsets-past-the-end.safetensors', build(h))


def npy():
    # A 28-byte v2 file whose header claims 4 GB.
    put('fuzz-npy', 'v2-header-claims-4GB.npy', b'\x93NUMPY\x02\x00' + struct.pack('<I', 0xFFFFFFFF) + b'{}' + b' ' * 14)
    def v1(header, body=b''):
        h = header.encode()
        pad = 64 - (10 + len(h) + 1) % 64
        return b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h) + pad + 1) + h + b' ' * pad + b'\n' + body
    put('fuzz-npy', 'shape-product-overflows.npy', v1("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", b'\0' * 16))
    put('fuzz-npy', 'fortran-huge-shape.npy', v1("{'descr': '<f8', 'fortran_order': True, 'shape': (3037000500, 3037000500), }", b'\0' * 16))
    put('fuzz-npy', 'negative-dimension.npy', v1("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }", b'\0' * 24))


def coco_gt():
    j = {"images": [{"id": 1, "width": 4294967296, "height": 4294967296, "file_name": "x.jpg"},
                    {"id": 2, "width": 64, "height": 48}],
         "categories": [{"id": 1, "name": "a"}],
         "annotations": [
             {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 10, "bbox": [0, 0, 4, 4],
              "segmentation": {"size": [4294967296, 4294967296], "counts": "0"}},
             {"id": 2, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 10, "bbox": [0, 0, 4, 4],
              "segmentation": [[0, 0, 1e300, 0, 1e300, 1e300]]},
             {"id": 3, "image_id": 2, "category_id": 1, "iscrowd": 1, "area": 10, "bbox": [0, 0, 4e8, 4e8],
              "segmentation": [[0, 0, 4e8, 0, 4e8, 4e8, 0, 4e8]]}]}
    put('fuzz-coco-gt', 'huge-sizes-and-coordinates.json', json.dumps(j).encode())
    j = {"images": [{"id": 1, "width": 64, "height": 48}], "categories": [{"id": 1}],
         "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 1, "bbox": [0, 0, 4, 4],
                          "segmentation": {"size": [48, 64], "counts": [3072, 4294967295, 7]}}]}
    put('fuzz-coco-gt', 'uncompressed-counts-past-the-size.json', json.dumps(j).encode())
    put('fuzz-coco-gt', 'objects-nested-10000.json', b'{"images":' + b'[' * 10000 + b']' * 10000 + b'}')


def coco_results():
    put('fuzz-coco-results', 'nan-scores-and-huge-boxes.json',
        b'[{"image_id":1,"category_id":2,"bbox":[1e300,-1e300,1e308,1e308],"score":NaN},'
        b'{"image_id":1,"category_id":2,"bbox":[NaN,0,10,10],"score":1e999},'
        b'{"image_id":2,"category_id":1,"bbox":[0,0,5,5],"score":-Infinity}]')
    put('fuzz-coco-results', 'segm-polygons-nan-and-huge.json',
        b'[{"image_id":1,"category_id":2,"bbox":[0,0,10,10],"segmentation":[[0,0,NaN,0,10,10]],"score":0.5},'
        b'{"image_id":1,"category_id":2,"bbox":[0,0,10,10],"segmentation":[[0,0,4e8,0,4e8,4e8]],"score":0.4}]')
    # Mask results as polygons without boxes (pycocotools' loadRes fails on them too).
    put('fuzz-coco-results', 'mask-results-as-polygons.json',
        b'[{"image_id":1,"category_id":2,"segmentation":[[0,0,10,0,10,10]],"score":0.5}]')
    put('fuzz-coco-results', 'segm-rle-of-another-size.json',
        b'[{"image_id":1,"category_id":2,"segmentation":{"size":[65536,65536],"counts":"0"},"score":0.5}]')
    put('fuzz-coco-results', 'score-is-a-string.json', b'[{"image_id":1,"category_id":2,"bbox":[0,0,1,1],"score":"high"}]')


def rle():
    def inp(mode, h, w, payload):
        # Mode bit 5: sizes from 1024 up (below, the target takes them modulo 1024).
        return bytes([mode | (0x20 if max(h, w) >= 1024 else 0)]) + struct.pack('<HH', h, w) + payload
    put('fuzz-rle', 'counts-13-characters.bin', inp(0, 4, 4, b'o' * 13 + b'0'))
    put('fuzz-rle', 'counts-past-the-size.bin', inp(0, 65535, 65535, b'ooooo?' * 8))
    put('fuzz-rle', 'counts-negative-run.bin', inp(0, 16, 16, b'12345' + b'P' + b'0'))
    put('fuzz-rle', 'polygon-nan-inf-huge.bin',
        inp(1, 256, 256, struct.pack('<8d', float('nan'), 0, float('inf'), 5, 1e300, -1e300, 3e9, 3e9)))
    put('fuzz-rle', 'polygon-4e8-in-65535-squared.bin',
        inp(1, 65535, 65535, struct.pack('<8d', 0, 0, 4e8, 0, 4e8, 4e8, 0, 4e8)))
    # A box whose far edge is past C's int once scaled by 5, and a ring through it.
    put('fuzz-rle', 'polygon-and-box-edges-past-int.bin',
        inp(1, 46340, 46340, struct.pack('<6d', -4e8, -4e8, 8e8, 8e8, -4e8, 4e8)))


def png_chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xFFFFFFFF)


def png():
    # 20000 × 20000 grey, 8 bit: a 20 KB file whose image is 400 MB (refused on the header's size).
    w = h = 20000
    raw = zlib.compressobj(9)
    row = b'\0' * (w + 1)
    body = b''.join(raw.compress(row) for _ in range(200)) + raw.flush()
    put('fuzz-png', 'bomb-20000-squared.png',
        b'\x89PNG\r\n\x1a\n' + png_chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0)) + png_chunk(b'IDAT', body) + png_chunk(b'IEND', b''))
    # Dimensions past PNG's 2^31 − 1 limit, and a palette image without its palette.
    put('fuzz-png', 'width-2e32-minus-1.png',
        b'\x89PNG\r\n\x1a\n' + png_chunk(b'IHDR', struct.pack('>IIBBBBB', 0xFFFFFFFF, 1, 8, 2, 0, 0, 0)) + png_chunk(b'IEND', b''))
    put('fuzz-png', 'palette-without-plte.png',
        b'\x89PNG\r\n\x1a\n' + png_chunk(b'IHDR', struct.pack('>IIBBBBB', 4, 4, 8, 3, 0, 0, 0))
        + png_chunk(b'IDAT', zlib.compress(b'\0\1\2\3\4' * 4)) + png_chunk(b'IEND', b''))
    rgba = read(FIX, 'imaging', 'rgba.png')
    put('fuzz-png', 'cut-in-idat.png', rgba[:len(rgba) * 2 // 3])


def jpeg():
    photo = bytearray(read(FIX, 'imaging', 'photo.jpg'))
    sof = photo.index(b'\xff\xc0')
    bomb = bytearray(photo)
    struct.pack_into('>HH', bomb, sof + 5, 46000, 46000)
    put('fuzz-jpeg', 'bomb-46000-squared.jpg', bytes(bomb))
    zero = bytearray(photo)
    struct.pack_into('>HH', zero, sof + 5, 0, 0)
    put('fuzz-jpeg', 'zero-size.jpg', bytes(zero))
    sos = photo.index(b'\xff\xda')
    put('fuzz-jpeg', 'eoi-inside-the-scan.jpg', bytes(photo[:sos + 40]) + b'\xff\xd9')
    put('fuzz-jpeg', 'cut-after-sos.jpg', bytes(photo[:sos + 20]))


def journal():
    def entries(lines):
        return b'\x01' + ('\n'.join(json.dumps(l, separators=(',', ':')) if not isinstance(l, str) else l for l in lines) + '\n').encode()
    put('fuzz-journal', 'seg-arrays-of-the-wrong-length-and-type.jsonl', entries([
        {"key": "seg/a.png", "intersect": [1, 2], "pred": [1, 2, 3, 4, 5], "label": [1, 2, 3, 4, 5]},
        {"key": "seg/b.png", "intersect": ["many", 0, 0, 0, 0], "pred": [1.5, 0, 0, 0, 0], "label": [True, 0, 0, 0, 0]}]))
    put('fuzz-journal', 'numbers-beyond-int64.jsonl', entries([
        '{"key":"seg/a.png","intersect":[1,0,0,0,0],"pred":[99999999999999999999999,0,0,0,0],"label":[1,0,0,0,0]}',
        '{"key":"cls/a.jpg","label":18446744073709551616,"logits":[1e999,0,0,0,0]}']))
    put('fuzz-journal', 'same-key-twice-and-torn.jsonl', entries([
        {"key": "cls/a.jpg", "label": 0, "logits": [1, 2, 3, 4, 5]},
        {"key": "cls/a.jpg", "label": 0, "logits": [1, 2, 3, 4, 5]},
        {"key": "cls/a.jpg", "label": 0, "logits": [1, 2, 3, 4, 5]}, '{"key": "cls/b.jpg", "lab']))
    put('fuzz-journal', 'det-results-not-what-they-claim.jsonl', entries([
        {"key": "1", "results": "[" + "[" * 3000 + "]" * 3000 + "]"},
        {"key": "2", "results": json.dumps([{"image_id": 2, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5,
                                             "segmentation": {"size": [64, -32], "counts": 7}}])}]))
    put('fuzz-journal', 'settings-not-an-object.jsonl', b'\x00{"settings":[1,2,3]}\n{"key":"cls/a.jpg"}\n')


if __name__ == '__main__':
    for f in [pth, legacy, safetensors, npy, coco_gt, coco_results, rle, png, jpeg, journal]:
        f()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f'{OUT}: {total} bytes')
