"""Randomised COCO evaluation cases and their expected numbers, made with pycocotools 2.0.11.

    pip install pycocotools numpy
    python make_coco_cases.py
For each seed: gt_<seed>.json (annotation file), dt_<seed>.json (results with bbox + RLE masks, the
mmdet layout), and in expected.json the 12 stats for bbox and segm as float.hex strings plus the
printed summary lines. The cases cover crowds, all three area ranges (and areas exactly 1024 and
9216), polygons, compressed and uncompressed RLE, score ties, images without ground truth,
categories without detections, more than 100 detections in one image, and (seed 4) mask-only
results. masks.json holds mask-API cases: encode, polygon rasterisation, toBbox, area, merge.
The tests never run Python.
"""
import contextlib, io, json, os
import numpy as np
from pycocotools import mask as mu
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

here = os.path.dirname(os.path.abspath(__file__))
os.chdir(here)


def blob(rng, h, w, cx, cy, r):
    yy, xx = np.mgrid[0:h, 0:w]
    ang = np.arctan2(yy - cy, xx - cx)
    rad = r * (1 + 0.3 * np.sin(3 * ang + rng.uniform(0, 6)))
    return ((xx - cx) ** 2 + (yy - cy) ** 2 <= rad ** 2).astype(np.uint8)


def polygon(rng, cx, cy, r, n):
    a = np.sort(rng.uniform(0, 2 * np.pi, n))
    rr = r * rng.uniform(0.6, 1.0, n)
    return [float(round(v, 2)) for p in zip(cx + rr * np.cos(a), cy + rr * np.sin(a)) for v in p]


def rle_json(m, compressed=True):
    r = mu.encode(np.asfortranarray(m))
    if compressed:
        return {'size': r['size'], 'counts': r['counts'].decode()}
    # uncompressed: column-major run lengths
    flat = m.flatten(order='F')
    counts, prev, run = [], 0, 0
    for v in flat:
        if v != prev:
            counts.append(run); run = 0; prev = v
        run += 1
    counts.append(run)
    return {'size': [int(m.shape[0]), int(m.shape[1])], 'counts': counts}


def make_case(seed):
    rng = np.random.default_rng(seed)
    cats = [1, 3, 7, 8, 12, 20]          # 20 never annotated; 12 never detected
    images, anns, dets = [], [], []
    aid = 1
    n_img = 14
    for i in range(n_img):
        h, w = int(rng.integers(60, 240)), int(rng.integers(60, 240))
        img_id = 1000 + 7 * i
        images.append({'id': img_id, 'width': w, 'height': h, 'file_name': f'{img_id:012d}.jpg'})
        if i % 5 == 3:
            n_obj = 0                     # an image without ground truth (it still gets detections)
        else:
            n_obj = int(rng.integers(1, 7))
        gts = []
        for _ in range(n_obj):
            cat = int(rng.choice(cats[:5]))
            size = rng.choice(['s', 'm', 'l'])
            r = {'s': rng.uniform(3, 14), 'm': rng.uniform(18, 45), 'l': rng.uniform(55, 110)}[size]
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            crowd = int(rng.uniform() < 0.12)
            kind = rng.choice(['poly', 'rle', 'urle'])
            if crowd:
                kind = 'urle'
            if kind == 'poly':
                seg = [polygon(rng, cx, cy, r, int(rng.integers(3, 12)))]
                if rng.uniform() < 0.3:
                    seg.append(polygon(rng, cx + r, cy, r / 2, int(rng.integers(3, 8))))
                rles = mu.frPyObjects(seg, h, w)
                m = mu.decode(mu.merge(rles))
            else:
                m = blob(rng, h, w, cx, cy, r)
                seg = rle_json(m, compressed=(kind == 'rle'))
            area = float(m.sum())
            if area == 0:
                continue
            # a few areas land exactly on the range boundaries
            u = rng.uniform()
            if u < 0.05:
                area = 1024.0
            elif u < 0.10:
                area = 9216.0
            bbox = [float(v) for v in mu.toBbox(mu.encode(np.asfortranarray(m)))]
            anns.append({'id': aid, 'image_id': img_id, 'category_id': cat, 'bbox': bbox, 'area': area,
                         'iscrowd': crowd, 'segmentation': seg})
            gts.append((cat, m, bbox))
            aid += 1
        # detections: jittered copies of the ground truth plus false positives
        n_fp = 130 if i == 2 else int(rng.integers(0, 8))
        for cat, m, bb in gts:
            for _ in range(int(rng.integers(1, 3))):
                if cat == 12:
                    continue
                dx, dy = rng.normal(0, 0.08 * bb[2] + 0.5), rng.normal(0, 0.08 * bb[3] + 0.5)
                mm = np.roll(np.roll(m, int(round(dy)), 0), int(round(dx)), 1)
                if mm.sum() == 0:
                    continue
                box = [bb[0] + dx, bb[1] + dy, bb[2] * rng.uniform(0.85, 1.15), bb[3] * rng.uniform(0.85, 1.15)]
                dets.append({'image_id': img_id, 'category_id': cat, 'bbox': [round(v, 2) for v in box],
                             'score': round(float(rng.uniform(0.3, 1.0)), 2), 'segmentation': rle_json(mm)})
        for _ in range(n_fp):
            cat = int(rng.choice([1, 3, 7, 8]))
            r = rng.uniform(3, 60)
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            mm = blob(rng, h, w, cx, cy, r)
            if mm.sum() == 0:
                continue
            box = [float(v) for v in mu.toBbox(mu.encode(np.asfortranarray(mm)))]
            dets.append({'image_id': img_id, 'category_id': cat, 'bbox': [round(v, 2) for v in box],
                         'score': round(float(rng.uniform(0.0, 0.6)), 1), 'segmentation': rle_json(mm)})
    # a detection for a category the ground truth does not list is silently dropped
    dets.append({'image_id': images[0]['id'], 'category_id': 99, 'bbox': [1, 1, 5, 5], 'score': 0.9,
                 'segmentation': rle_json(np.zeros((images[0]['height'], images[0]['width']), np.uint8))})
    gt = {'images': images, 'annotations': anns,
          'categories': [{'id': c, 'name': f'cat{c}', 'supercategory': 'x'} for c in reversed(cats)],
          'info': {'description': f'seed {seed}'}, 'licenses': []}
    if seed == 4:
        for d in dets:
            del d['bbox']                  # mask-only results: area and bbox come from the RLE
    return gt, dets


def evaluate(gt_path, dets, iou, max_dets=None):
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(gt_path)
        dt = gt.loadRes(dets)
        ev = COCOeval(gt, dt, iou)
        if max_dets:
            ev.params.maxDets = max_dets
        ev.evaluate()
        ev.accumulate()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        ev.summarize()
    lines = [l for l in buf.getvalue().split('\n') if l.startswith(' Average')]
    # mmdet's class-wise AP: precision[:, :, k, 0, -1]
    per_cat = []
    for k in range(len(ev.params.catIds)):
        p = ev.eval['precision'][:, :, k, 0, -1]
        p = p[p > -1]
        per_cat.append(float(np.mean(p)).hex() if p.size else 'nan')
    return {'stats': [float(s).hex() for s in ev.stats], 'lines': lines, 'per_category': per_cat}


expected = {}
for seed in [1, 2, 3, 4]:
    gt, dets = make_case(seed)
    json.dump(gt, open(f'gt_{seed}.json', 'w'))
    json.dump(dets, open(f'dt_{seed}.json', 'w'))
    expected[str(seed)] = {t: evaluate(f'gt_{seed}.json', json.load(open(f'dt_{seed}.json')), t) for t in ['bbox', 'segm']}
    if seed == 1:
        expected['1-mmdet'] = {t: evaluate('gt_1.json', json.load(open('dt_1.json')), t, [100, 300, 1000]) for t in ['bbox', 'segm']}
json.dump(expected, open('expected.json', 'w'), indent=1)

# Mask API cases.
rng = np.random.default_rng(11)
cases = []
for n in range(40):
    h, w = int(rng.integers(1, 90)), int(rng.integers(1, 90))
    m = (rng.uniform(size=(h, w)) < rng.uniform(0, 1)).astype(np.uint8) if n % 2 else blob(rng, h, w, rng.uniform(0, w), rng.uniform(0, h), rng.uniform(1, 40))
    r = mu.encode(np.asfortranarray(m))
    poly = polygon(rng, rng.uniform(-5, w + 5), rng.uniform(-5, h + 5), rng.uniform(0.5, 50), int(rng.integers(3, 15)))
    pr = mu.frPyObjects([poly], h, w)[0]
    box = [float(rng.uniform(-3, w)), float(rng.uniform(-3, h)), float(rng.uniform(0, w)), float(rng.uniform(0, h))]
    br = mu.frPyObjects(np.array([box]), h, w)[0]
    m2 = blob(rng, h, w, rng.uniform(0, w), rng.uniform(0, h), rng.uniform(1, 40))
    r2 = mu.encode(np.asfortranarray(m2))
    cases.append({
        'h': h, 'w': w, 'mask': m.flatten().tolist(), 'counts': r['counts'].decode(),
        'area': int(mu.area(r)), 'bbox': [float(v) for v in mu.toBbox(r)],
        'polygon': poly, 'polygon_counts': pr['counts'].decode(), 'polygon_bbox': [float(v) for v in mu.toBbox(pr)],
        'box': box, 'box_counts': br['counts'].decode(),
        'other_counts': r2['counts'].decode(),
        'union_counts': mu.merge([r, r2], intersect=False)['counts'].decode(),
        'intersection_counts': mu.merge([r, r2], intersect=True)['counts'].decode(),
        'iou': float(mu.iou([r], [r2], [0])[0][0]).hex(), 'iou_crowd': float(mu.iou([r], [r2], [1])[0][0]).hex(),
    })
json.dump(cases, open('masks.json', 'w'))
