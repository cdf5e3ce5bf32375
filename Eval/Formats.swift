// The COCO types and RLE masks live in RepLKFormats (a leaf target the dataset readers and the
// detection head share without the evaluators); RepLKEval re-exports them.
@_exported import RepLKFormats
