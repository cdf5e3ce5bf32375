#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora, Tests/Fuzz/Corpus/<target>/, from the project's own valid
files (Tests/Fixtures, Datasets/Demo), trimmed so that the committed corpus stays small, and the
fuzz-coco-results target's ground truth (Sources/fuzz-coco-results/GroundTruth.swift, and
Tests/Fixtures/fuzz-regressions/coco-results-ground-truth.json for the replay test).
Run from anywhere: python3 Tests/Fuzz/make_corpus.py. Needs a C compiler and libjpeg for the
progressive JPEG seeds; journals written by a tool run are copied from Seeds/journals/."""
import json, os, shutil, struct, subprocess, tempfile, zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
CORPUS = os.path.join(HERE, 'Corpus')
FIX = os.path.join(ROOT, 'Tests', 'Fixtures')
DEMO = os.path.join(ROOT, 'Datasets', 'Demo')


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def copy(target, path, name=None):
    with open(path, 'rb') as f:
        put(target, name or os.path.basename(path), f.read())


def compact(obj):
    return json.dumps(obj, separators=(',', ':')).encode()


def main():
    shutil.rmtree(CORPUS, ignore_errors=True)
    forms = os.path.join(FIX, 'checkpoint-forms')

    # .pth (ZIP) and the raw pickle inside one
    for n in ['plain.pth', 'with_ema.pth', 'wrapped_model.pth', 'wrapped_state_dict_ddp.pth', 'hostile_os_system.pth']:
        copy('fuzz-pth', os.path.join(forms, n))
    with zipfile.ZipFile(os.path.join(forms, 'with_ema.pth')) as z:
        pkl = [n for n in z.namelist() if n.endswith('data.pkl')][0]
        put('fuzz-pth', 'with_ema.data.pkl', z.read(pkl))

    copy('fuzz-legacy-pth', os.path.join(forms, 'legacy.pth'))
    copy('fuzz-safetensors', os.path.join(forms, 'tiny.safetensors'))

    for p in [os.path.join(forms, 'f4.npy'), os.path.join(forms, 'f8_fortran.npy'), os.path.join(forms, 'i8.npy'),
              os.path.join(FIX, 'dev-cls-a', 'logits.npy'), os.path.join(FIX, 'imaging', 'label.npy'),
              os.path.join(FIX, 'imaging', 'cv2_16x11.npy')]:
        copy('fuzz-npy', p)

    # COCO ground truth: the demo's first five images with their annotations (polygons and RLE),
    # one of them also as a crowd region; and one of the evaluator fixtures' ground truths.
    gt = json.load(open(os.path.join(DEMO, 'coco', 'annotations', 'instances_val2017.json')))
    ids = {1, 2, 3, 4, 5}
    anns = [a for a in gt['annotations'] if a['image_id'] in ids]
    crowd = json.loads(json.dumps(anns[0])); crowd['id'] = 100000; crowd['iscrowd'] = 1
    small = {'images': [{k: i[k] for k in ('id', 'file_name', 'height', 'width')} for i in gt['images'] if i['id'] in ids],
             'annotations': anns + [crowd],
             'categories': [{'id': c['id'], 'name': c['name']} for c in gt['categories']]}
    put('fuzz-coco-gt', 'demo_val_5_images.json', compact(small))
    copy('fuzz-coco-gt', os.path.join(FIX, 'coco', 'gt_1.json'))
    # The same ground truth for the root package's replay test of fuzz-coco-results' regressions.
    with open(os.path.join(FIX, 'fuzz-regressions', 'coco-results-ground-truth.json'), 'wb') as f:
        f.write(compact(small))
    with open(os.path.join(HERE, 'Sources', 'fuzz-coco-results', 'GroundTruth.swift'), 'w') as f:
        f.write("// The ground truth the fuzzed results are evaluated against: images 1–5 of the demo's\n"
                "// Datasets/Demo/coco/annotations/instances_val2017.json (polygons and RLE masks), plus one crowd\n"
                "// copy of its first annotation. Written by Tests/Fuzz/make_corpus.py.\n"
                'let groundTruthJSON = #"' + compact(small).decode() + '"#\n')

    # COCO results: the demo's detections of those images (boxes; masks), and an evaluator fixture's.
    for kind in ['bbox', 'segm']:
        dets = json.load(open(os.path.join(DEMO, 'det', f'val_detections.{kind}.json')))
        put('fuzz-coco-results', f'demo_{kind}.json', compact([d for d in dets if d['image_id'] in ids][:25]))
    dt = json.load(open(os.path.join(FIX, 'coco', 'dt_1.json')))
    put('fuzz-coco-results', 'dt_1_head.json', compact(dt[:30]))
    put('fuzz-coco-results', 'python_scores.json',
        b'[{"image_id":1,"category_id":2,"bbox":[10,10,20,20],"score":NaN},'
        b'{"image_id":1,"category_id":2,"bbox":[12,10,20,20],"score":Infinity},'
        b'{"image_id":2,"category_id":1,"bbox":[0,0,5,5],"score":-Infinity}]')

    # RLE: byte 0 mode, then height and width as little-endian UInt16, then the payload.
    def rle_input(mode, h, w, payload):
        # Mode bit 5: sizes from 1024 up (below, the target takes them modulo 1024).
        return bytes([mode | (0x20 if max(h, w) >= 1024 else 0)]) + struct.pack('<HH', h, w) + payload
    n = 0
    for a in gt['annotations']:
        if isinstance(a['segmentation'], dict) and n < 4:
            h, w = a['segmentation']['size']
            put('fuzz-rle', f'counts_{a["id"]}', rle_input(0, h, w, a['segmentation']['counts'].encode()))
            n += 1
    masks = json.load(open(os.path.join(FIX, 'coco', 'masks.json')))
    for i, m in enumerate(masks[:4]):
        put('fuzz-rle', f'masks_counts_{i}', rle_input(0, m['h'], m['w'], m['counts'].encode()))
        if 'polygon' in m:
            xy = m['polygon']
            put('fuzz-rle', f'masks_polygon_doubles_{i}', rle_input(1, m['h'], m['w'], struct.pack(f'<{len(xy)}d', *xy)))
            q = [max(-32768, min(32767, round(v * 4))) for v in xy]
            put('fuzz-rle', f'masks_polygon_quarters_{i}', rle_input(3, m['h'], m['w'], struct.pack(f'<{len(q)}h', *q)))
    polys = [a for a in gt['annotations'] if isinstance(a['segmentation'], list)][:3]
    for a in polys:
        rings = a['segmentation']
        xy = [v for r in rings for v in r]
        mode = 3 | ((len(rings) - 1) & 3) << 2
        q = [round(v * 4) for v in xy]
        put('fuzz-rle', f'polygon_{a["id"]}', rle_input(mode, 256, 256, struct.pack(f'<{len(q)}h', *q)))

    # PNG: RGBA, grey, palette and 16-bit label maps; a demo annotation and prediction.
    img = os.path.join(FIX, 'imaging')
    for p in ['rgba.png', 'label_gray.png', 'label_palette.png', 'label_16bit.png']:
        copy('fuzz-png', os.path.join(img, p))
    copy('fuzz-png', os.path.join(DEMO, 'ADEChallengeData2016', 'annotations', 'training', 'ADE_train_00000002.png'))
    copy('fuzz-png', os.path.join(DEMO, 'seg', 'val_pred', 'ADE_val_00000001.png'))

    # JPEG: the fixtures (RGB, grey, CMYK, cut short) and progressive / restart-marker files.
    for p in ['photo.jpg', 'gray.jpg', 'cmyk.jpg', 'truncated.jpg']:
        copy('fuzz-jpeg', os.path.join(img, p))
    with tempfile.TemporaryDirectory() as t:
        exe = os.path.join(t, 'progressive')
        subprocess.check_call(['cc', '-O1', '-o', exe, os.path.join(HERE, 'Seeds', 'progressive.c'), '-ljpeg'])
        outs = [os.path.join(t, n) for n in ['progressive.jpg', 'restart.jpg', 'progressive_gray.jpg']]
        subprocess.check_call([exe] + outs)
        for o in outs:
            copy('fuzz-jpeg', o)

    # Journals written by tool runs (see Seeds/journals/README).
    jdir = os.path.join(HERE, 'Seeds', 'journals')
    if os.path.isdir(jdir):
        for n in sorted(os.listdir(jdir)):
            if n.endswith('.seed'):
                copy('fuzz-journal', os.path.join(jdir, n), n[:-5])

    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(CORPUS) for f in fs)
    print(f'{CORPUS}: {total} bytes')


if __name__ == '__main__':
    main()
