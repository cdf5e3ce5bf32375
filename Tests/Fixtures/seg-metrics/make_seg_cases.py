"""Label-map cases and the numbers mmsegmentation 1.2.2 (IoUMetric) and cityscapesScripts 2.x print.

    pip install mmsegmentation==1.2.2 mmengine==0.10.7 mmcv-lite==2.1.0 cityscapesscripts pillow numpy torch
    python make_seg_cases.py
ade/: ADEChallengeData2016 layout (raw PNG values 0..150, 0 = other) and ade_pred/ (0..149).
cityscapes/: leftImg8bit/gtFine layout (labelIds, 16-bit instanceIds, labelTrainIds) and cs_pred/ (trainIds).
counts.json: per-image histograms large enough that the float32 totals round (> 2^24).
expected.json: mmseg's metrics (float32 values as repr strings) and printed class table; the
cityscapesScripts scores (float.hex). The tests never run Python.
"""
import io, json, logging, os, shutil
import numpy as np
import torch
from PIL import Image
from mmengine.logging import MMLogger
from mmseg.evaluation.metrics import IoUMetric

here = os.path.dirname(os.path.abspath(__file__))
os.chdir(here)
rng = np.random.default_rng(5)
for d in ['ade', 'ade_pred', 'cityscapes', 'cs_pred']:
    shutil.rmtree(d, ignore_errors=True)


def structured(h, w, values, n_blobs):
    m = np.full((h, w), values[0], np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    for _ in range(n_blobs):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(2, max(h, w) / 2)
        m[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = rng.choice(values)
    return m


def mmseg_metrics(classes, pairs):
    metric = IoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = {'classes': classes}
    for pred, gt in pairs:
        sample = {'pred_sem_seg': {'data': torch.from_numpy(pred.astype(np.int64))[None]},
                  'gt_sem_seg': {'data': torch.from_numpy(gt.astype(np.int64))[None]}}
        metric.process([], [sample])
    return run_compute(metric)


def run_compute(metric):
    logger = MMLogger.get_instance('seg-cases', log_level='INFO')
    buf = io.StringIO()
    h = logging.StreamHandler(buf)
    h.setFormatter(logging.Formatter('%(message)s'))
    logger.addHandler(h)
    try:
        res = metric.compute_metrics(metric.results)
    finally:
        logger.removeHandler(h)
    text = buf.getvalue()
    table = text[text.index('+'):].strip()
    return {'aAcc': repr(res['aAcc']), 'mIoU': repr(res['mIoU']), 'mAcc': repr(res['mAcc']), 'class_table': table}


expected = {}
# ---- ADE20K layout (reduce_zero_label) -------------------------------------------------------
ade_classes = [l.rstrip('\n').split('\t')[1] for l in open('../../../Datasets/Metadata/ade20k_classes.tsv')][1:]
root = 'ade/ADEChallengeData2016'
os.makedirs(root + '/images/validation'); os.makedirs(root + '/annotations/validation'); os.makedirs('ade_pred')
pairs = []
for i in range(1, 7):
    h, w = int(rng.integers(20, 60)), int(rng.integers(20, 60))
    vals = list(rng.choice(np.arange(1, 151), 6, replace=False)) + [0, 150, 1]
    raw = structured(h, w, vals, 12)
    if i == 3:
        raw[0, :5] = 255                      # raw 255 is ignored as well
    pred = structured(h, w, [v - 1 for v in vals if v > 0] + [7, 149], 10)
    pred[raw > 0] = np.where(rng.uniform(size=raw.shape) < 0.7, raw.astype(np.int64) - 1, pred)[raw > 0].clip(0, 149)
    name = f'ADE_val_{i:08d}'
    Image.fromarray(raw, 'L').save(f'{root}/annotations/validation/{name}.png')
    Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(f'{root}/images/validation/{name}.jpg')
    Image.fromarray(pred.astype(np.uint8), 'L').save(f'ade_pred/{name}.png')
    gt = raw.copy(); gt[gt == 0] = 255; gt = gt - 1; gt[gt == 254] = 255      # reduce_zero_label
    pairs.append((pred, gt))
expected['ade'] = mmseg_metrics(ade_classes, pairs)

# ---- Cityscapes layout -------------------------------------------------------------------
from cityscapesscripts.helpers.labels import labels as cs_labels, id2label, trainId2label
import cityscapesscripts.evaluation.evalPixelLevelSemanticLabeling as CSEval
if not hasattr(np, 'in1d'):   # numpy 2.4 removed in1d, which cityscapesScripts still calls
    np.in1d = lambda a, b, invert=False: np.isin(a, b, invert=invert).ravel()
cs_classes = [l.rstrip('\n').split('\t')[1] for l in open('../../../Datasets/Metadata/cityscapes_classes.tsv')][1:]
to_train = np.full(256, 255, np.uint8)
for l in cs_labels:
    if 0 <= l.id < 256:
        to_train[l.id] = l.trainId if 0 <= l.trainId < 255 else 255
to_label = np.array([trainId2label[t].id for t in range(19)], np.uint8)
pairs, gts, preds = [], [], []
for city, n in [('frankfurt', 2), ('lindau', 1), ('munster', 2)]:
    os.makedirs(f'cityscapes/leftImg8bit/val/{city}'); os.makedirs(f'cityscapes/gtFine/val/{city}'); os.makedirs(f'cs_pred/{city}', exist_ok=True)
    for j in range(n):
        stem = f'{city}_{j:06d}_{19 + j * 17:06d}'
        h, w = 40, 64
        ids = structured(h, w, [7, 8, 11, 21, 23, 24, 25, 26, 27, 33, 4, 29], 14)
        inst = ids.astype(np.uint16)
        k = 0
        for lab in [24, 25, 26, 27, 33, 29]:
            ys, xs = np.nonzero(ids == lab)
            if len(ys):
                half = xs < np.median(xs)
                inst[ys[half], xs[half]] = lab * 1000 + k; k += 1
                inst[ys[~half], xs[~half]] = lab * 1000 + k; k += 1
        train = to_train[ids]
        ptrain = train.copy()
        noise = rng.uniform(size=ids.shape) < 0.3
        ptrain[noise] = rng.integers(0, 19, noise.sum())
        ptrain[ptrain == 255] = rng.integers(0, 19, (ptrain == 255).sum())
        base = f'cityscapes/gtFine/val/{city}/{stem}_gtFine'
        Image.fromarray(ids, 'L').save(base + '_labelIds.png')
        Image.fromarray(train, 'L').save(base + '_labelTrainIds.png')
        Image.fromarray(inst).save(base + '_instanceIds.png')
        Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(f'cityscapes/leftImg8bit/val/{city}/{stem}_leftImg8bit.png')
        Image.fromarray(ptrain, 'L').save(f'cs_pred/{city}/{stem}_leftImg8bit.png')
        Image.fromarray(to_label[ptrain], 'L').save(f'cs_pred/{city}/{stem}_labelIds.png')
        pairs.append((ptrain, train)); gts.append(base + '_labelIds.png'); preds.append(f'cs_pred/{city}/{stem}_labelIds.png')
# cityscapesScripts lists ground truth with glob; mmseg sorts by image path.
order = sorted(range(len(gts)), key=lambda i: gts[i])
expected['cityscapes'] = mmseg_metrics(cs_classes, [pairs[i] for i in order])
CSEval.args.evalInstLevelScore = True
CSEval.args.evalPixelAccuracy = True
CSEval.args.JSONOutput = False
CSEval.args.quiet = True
r = CSEval.evaluateImgLists([preds[i] for i in order], [gts[i] for i in order], CSEval.args)
expected['cityscapes_official'] = {k: float(r[k]).hex() for k in
                                   ['averageScoreClasses', 'averageScoreInstClasses', 'averageScoreCategories', 'averageScoreInstCategories']}
expected['cityscapes_official']['classScores'] = {k: float(v).hex() for k, v in r['classScores'].items()}
expected['cityscapes_official']['classInstScores'] = {k: float(v).hex() for k, v in r['classInstScores'].items()}

# ---- large totals: float32 accumulation rounds ---------------------------------------------
metric = IoUMetric(iou_metrics=['mIoU'])
metric.dataset_meta = {'classes': cs_classes}
counts = []
for i in range(60):
    lab = rng.integers(0, 3_000_000, 19).astype(np.float64)
    lab[rng.uniform(size=19) < 0.1] = 0
    inter = np.floor(lab * rng.uniform(0.3, 1.0, 19))
    pred = inter + rng.integers(0, 900_000, 19)
    counts.append({'intersect': inter.astype(int).tolist(), 'pred': pred.astype(int).tolist(), 'label': lab.astype(int).tolist()})
    t = lambda a: torch.tensor(a, dtype=torch.float32)
    metric.results.append((t(inter), t(pred + lab - inter), t(pred), t(lab)))
expected['large'] = run_compute(metric)
json.dump(counts, open('counts.json', 'w'))
json.dump(expected, open('expected.json', 'w'), indent=1)
