"""Writes Datasets/Readers/ClassLists.swift from the class lists in this folder.
Run from the repository root: python3 Datasets/Metadata/generate.py"""
import csv


def q(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'


def tsv(path):
    return list(csv.reader(open(path), delimiter='\t'))[1:]


out = ['// Generated from Datasets/Metadata/*.tsv / *.txt (copies of the class lists in the reference data).',
       '// Regenerate with Datasets/Metadata/generate.py after editing those files.', '']
inet = [l.rstrip('\n') for l in open('Datasets/Metadata/imagenet1k_classes.txt')]
out.append("/// ImageNet-1K class names in class-index order (torchvision's list).")
out.append('public let imageNet1KClassNames: [String] = [')
out += ['    ' + q(n) + ',' for n in inet]
out.append(']\n')
out.append("/// ADE20K's 150 classes (index after reduce_zero_label) and RGB palette, as mmsegmentation names them.")
out.append('public let ade20kClasses: [(name: String, color: (UInt8, UInt8, UInt8))] = [')
out += [f'    ({q(r[1])}, ({r[2]}, {r[3]}, {r[4]})),' for r in tsv('Datasets/Metadata/ade20k_classes.tsv')]
out.append(']\n')
out.append("/// Cityscapes' 19 train classes (trainId order) and RGB palette.")
out.append('public let cityscapesClasses: [(name: String, color: (UInt8, UInt8, UInt8))] = [')
out += [f'    ({q(r[1])}, ({r[2]}, {r[3]}, {r[4]})),' for r in tsv('Datasets/Metadata/cityscapes_classes.tsv')]
out.append(']\n')
out.append("/// COCO's 80 categories: contiguous index order, official category id, name.")
out.append('public let cocoCategories: [(id: Int, name: String)] = [')
out += [f'    ({r[1]}, {q(r[2])}),' for r in tsv('Datasets/Metadata/coco_categories.tsv')]
out.append(']')
open('Datasets/Readers/ClassLists.swift', 'w').write('\n'.join(out) + '\n')
